"""The secret scopes through the service: what the Secrets API (2.0) asks, for admins only.

Every job the engine runs may read every scope (`dbutils.secrets`), so a token that could read
or write a secret could read them all: only admins may use these, whatever they ask. The
scopes are kept where `secrets` says (`runtime/secret_store.py`, wired by the composition
root); without one, the service says none is kept here. Each change, and each value read
here, is in the audit log (scope and key, never the value); a task's own reads are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from headwater.core.audit import AuditAction
from headwater.errors import AlreadyExists, InvalidRequest, NotFound
from headwater.ports import SecretScopes
from headwater.runtime.secret_store import SecretError
from headwater.service.access import AccessMixin


@contextmanager
def _told() -> Iterator[None]:
    """A store's `SecretError` as the service's error: not found, or a bad request."""
    try:
        yield
    except SecretError as error:
        raise (NotFound if error.missing else InvalidRequest)(str(error)) from None


class SecretsMixin(AccessMixin):
    """Create, list, put, read and delete secret scopes and secrets (admins only)."""

    secrets: SecretScopes | None

    def _scopes(self, what: str) -> SecretScopes:
        self.require_admin(what)
        if self.secrets is None:
            raise InvalidRequest("this headwater keeps no secret scopes")
        return self.secrets

    def _audit(self, action: AuditAction, scope: str, key: str | None = None) -> None:
        self.audit(action, scope=scope, **({"key": key} if key is not None else {}))

    def create_secret_scope(self, scope: str) -> None:
        with _told():
            if not self._scopes("create secret scopes").create_scope(scope):
                raise AlreadyExists(f"Scope {scope} already exists!")
        self._audit(AuditAction.SCOPE_CREATED, scope)

    def secret_scopes(self) -> list[str]:
        return self._scopes("list secret scopes").list_scopes()

    def delete_secret_scope(self, scope: str) -> None:
        with _told():
            self._scopes("delete secret scopes").delete_scope(scope)
        self._audit(AuditAction.SCOPE_DELETED, scope)

    def put_secret(self, scope: str, key: str, value: bytes) -> None:
        with _told():
            self._scopes("put secrets").put(scope, key, value)
        self._audit(AuditAction.SCOPE_KEY_PUT, scope, key)

    def secret_keys(self, scope: str) -> list[tuple[str, datetime]]:
        """The keys of `scope`, each with when its value was last put."""
        with _told():
            store = self._scopes("list secrets")
            return [(key, store.updated(scope, key)) for key in store.list_secrets(scope)]

    def secret_value(self, scope: str, key: str) -> bytes:
        with _told():
            value = self._scopes("read secrets").get(scope, key)
        self._audit(AuditAction.SCOPE_KEY_READ, scope, key)
        return value

    def delete_secret(self, scope: str, key: str) -> None:
        with _told():
            self._scopes("delete secrets").delete(scope, key)
        self._audit(AuditAction.SCOPE_KEY_DELETED, scope, key)


__all__ = ["SecretsMixin"]
