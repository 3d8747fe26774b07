"""The secret scopes through the service: what the Secrets API (2.0) asks, scope ACLs included.

Who may do what is Databricks' (core/secret_acls.py): anyone creates a scope, whose creator
(or `users`, if asked) gets MANAGE, and lists every scope's name; READ lists and reads a
scope's secrets, WRITE puts and deletes them, MANAGE deletes the scope and reads and changes
its ACL; admins may do everything. The local command line (`local`) acts as the machine's
admin, and a scope it makes is managed by the group `admins` (**choice**): closed to every
other user until an admin grants it, as a scope made on Databricks is to all but its
creator. The ACLs
are kept in the state store, so every server and engine of it sees them; the scopes where
`secrets` says (`runtime/secret_store.py`, wired by the composition root); without one, the
service says none is kept here. Each change, and each value read here, is in the audit log
(scope, key, principal; never the value); a task's own reads are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.permissions import ADMINS, EVERYONE
from headwater.core.secret_acls import (
    ScopeAcl,
    ScopePermission,
    allows,
    checked_principal,
    parsed_permission,
    refusal,
)
from headwater.errors import AlreadyExists, InvalidRequest, InvalidState, NotFound, PermissionDenied
from headwater.ports import SecretScopes
from headwater.runtime.secret_store import SecretError, checked_name
from headwater.service.access import AccessMixin


@contextmanager
def _told() -> Iterator[None]:
    """A store's `SecretError` as the service's error: not found, or a bad request."""
    try:
        yield
    except SecretError as error:
        raise (NotFound if error.missing else InvalidRequest)(str(error)) from None


class SecretsMixin(AccessMixin):
    """Create, list, put, read and delete secret scopes, secrets and scope ACLs."""

    secrets: SecretScopes | None
    local: bool

    def _scopes(self) -> SecretScopes:
        if self.secrets is None:
            raise InvalidRequest("this headwater keeps no secret scopes")
        return self.secrets

    def _entry(self, action: AuditAction, scope: str, **details: str) -> AuditEntry:
        return AuditEntry(self.clock.now(), self.user, action,
                          details={"scope": scope, **details})

    def _audit(self, action: AuditAction, scope: str, key: str | None = None) -> None:
        self.audit(action, scope=scope, **({"key": key} if key is not None else {}))

    def _allowed(self, scope: str, needed: ScopePermission) -> tuple[SecretScopes, list[ScopeAcl]]:
        """The scopes and `scope`'s ACL, if it exists and the caller holds `needed` on it;
        else `NotFound` or `PermissionDenied` (naming who can grant it)."""
        store = self._scopes()
        with _told():
            checked_name("scope", scope)
        if scope not in (known := store.list_scopes()):
            cli = "headwater" if self.local else "databricks"
            raise NotFound(f"no secret scope {scope!r} (scopes: {', '.join(known) or 'none'}); "
                           f"create it with `{cli} secrets create-scope {scope}`")
        acls = self.store.secret_acls([scope]).get(scope, [])
        if not allows(self.principal, acls, needed):
            raise PermissionDenied(refusal(self.principal, scope, acls, needed))
        return store, acls

    # Scopes.

    def create_secret_scope(self, scope: str, initial_manage_principal: str | None = None
                            ) -> None:
        """Make `scope`, managed by the caller or by `users` (`initial_manage_principal`,
        the only other principal Databricks allows there); by `admins` when the local command
        line, which acts as the machine's admin, makes it unasked."""
        if initial_manage_principal not in (None, EVERYONE):
            raise InvalidRequest(f"initial_manage_principal: {initial_manage_principal!r} "
                                 f"cannot be given; the only principal allowed is {EVERYONE!r} "
                                 "(everyone). Leave it out to manage the scope yourself, and "
                                 "grant others with `headwater secrets put-acl` (`databricks "
                                 "secrets put-acl` against a server).")
        with _told():
            if not self._scopes().create_scope(scope):
                raise AlreadyExists(f"Scope {scope} already exists!")
        manager = initial_manage_principal or (ADMINS if self.local else self.user)
        acls = [ScopeAcl(manager, ScopePermission.MANAGE)]
        # A scope deleted behind the service's back left its entries: they go now.
        self.store.set_secret_acls(scope, acls,
                                   self._entry(AuditAction.SCOPE_CREATED, scope,
                                               initial_manage_principal=manager))

    def secret_scopes(self) -> list[str]:
        """Every scope's name (anyone may list them, as on Databricks)."""
        return self._scopes().list_scopes()

    def delete_secret_scope(self, scope: str) -> None:
        store, _ = self._allowed(scope, ScopePermission.MANAGE)
        with _told():
            store.delete_scope(scope)
        self.store.set_secret_acls(scope, [], self._entry(AuditAction.SCOPE_DELETED, scope))

    # Secrets.

    def put_secret(self, scope: str, key: str, value: bytes) -> None:
        store, _ = self._allowed(scope, ScopePermission.WRITE)
        with _told():
            store.put(scope, key, value)
        self._audit(AuditAction.SCOPE_KEY_PUT, scope, key)

    def secret_keys(self, scope: str) -> list[tuple[str, datetime]]:
        """The keys of `scope`, each with when its value was last put."""
        store, _ = self._allowed(scope, ScopePermission.READ)
        with _told():
            return [(key, store.updated(scope, key)) for key in store.list_secrets(scope)]

    def secret_value(self, scope: str, key: str) -> bytes:
        store, _ = self._allowed(scope, ScopePermission.READ)
        with _told():
            value = store.get(scope, key)
        self._audit(AuditAction.SCOPE_KEY_READ, scope, key)
        return value

    def delete_secret(self, scope: str, key: str) -> None:
        store, _ = self._allowed(scope, ScopePermission.WRITE)
        with _told():
            store.delete(scope, key)
        self._audit(AuditAction.SCOPE_KEY_DELETED, scope, key)

    # Scope ACLs (MANAGE).

    def secret_acls(self, scope: str) -> list[ScopeAcl]:
        """The scope's ACL, by principal (none: the scope is open to every user and run)."""
        return self._allowed(scope, ScopePermission.MANAGE)[1]

    def secret_acl(self, scope: str, principal: str) -> ScopeAcl:
        """The principal's entry on the scope; `NotFound` when it has none."""
        acls = self.secret_acls(scope)
        found = next((a for a in acls if a.principal == principal), None)
        if found is None:
            raise _no_acl(scope, principal, acls)
        return found

    def put_secret_acl(self, scope: str, principal: str, permission: str | None) -> ScopeAcl:
        """Give the principal (a user, or `users`) this permission on the scope, replacing
        what it had."""
        acl = ScopeAcl(checked_principal(principal), parsed_permission(permission))
        self._allowed(scope, ScopePermission.MANAGE)
        self.store.put_secret_acl(scope, acl, self._entry(
            AuditAction.SCOPE_ACL_PUT, scope, principal=acl.principal,
            permission=acl.permission.name))
        return acl

    def delete_secret_acl(self, scope: str, principal: str) -> None:
        """Remove the principal's entry; not the scope's last one (**choice**: without any,
        a scope is open to every user and run)."""
        acls = self.secret_acls(scope)
        if [a.principal for a in acls] == [principal]:
            raise InvalidState(f"{principal}'s is the last ACL of secret scope {scope!r}, and "
                               "a scope without any is open to every user and run: put "
                               f"another first (`headwater secrets put-acl {scope} ...`, or "
                               "`databricks secrets put-acl` against a server), "
                               "or delete the scope.")
        entry = self._entry(AuditAction.SCOPE_ACL_DELETED, scope, principal=principal)
        if not self.store.delete_secret_acl(scope, principal, entry):
            raise _no_acl(scope, principal, acls)


def _no_acl(scope: str, principal: str, acls: list[ScopeAcl]) -> NotFound:
    held = ", ".join(f"{a.principal} {a.permission.name}" for a in acls) or "none"
    return NotFound(f"Principal {principal} has no ACL on secret scope {scope!r} (it has: "
                    f"{held}).")


__all__ = ["SecretsMixin"]
