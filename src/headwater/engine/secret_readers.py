"""Which secret scopes a run's tasks may read, found in the store when its first attempt
launches (`Launcher.secret_environment`).

A task reads a scope only if its run's user (`run_as`) has READ on it or is an admin
(core/secret_acls.py). (**choice**) A run's user is an admin when they hold a valid admin
token now: the store knows users only by their tokens. The answer reaches the attempt as
`HEADWATER_READABLE_SCOPES` (runtime/secret_store.py `Readable`), which `dbutils.secrets` and
`{{secrets/...}}` references obey. The engine of the local `headwater run`, which acts as an
admin, has no `SecretReaders`: its attempts read every scope.
"""

from __future__ import annotations

from headwater.core.permissions import Principal
from headwater.core.secret_acls import readable_scopes
from headwater.ports import Clock, SecretScopes, Store
from headwater.runtime.secret_store import READABLE_VARIABLE, Readable


class SecretReaders:
    """What each user's runs may read of the scopes `scopes` keeps, as `store` says now."""

    def __init__(self, store: Store, scopes: SecretScopes, clock: Clock) -> None:
        self.store, self.scopes, self.clock = store, scopes, clock

    def is_admin(self, user: str) -> bool:
        """Whether `user` holds an admin token that is valid now."""
        now = self.clock.now()
        return any(t.user == user and t.admin and t.valid_at(now)
                   for t in self.store.list_tokens())

    def readable(self, user: str) -> Readable:
        """The scopes `user`'s runs may read now (every scope, for an admin)."""
        principal = Principal(user, self.is_admin(user))
        if principal.admin:
            return Readable(user, None)
        return Readable(user, frozenset(readable_scopes(
            principal, self.scopes.list_scopes(), self.store.secret_acls())))

    def environment(self, user: str) -> dict[str, str]:
        """The variable that tells an attempt of `user`'s run what it may read."""
        return {READABLE_VARIABLE: self.readable(user).encoded()}


__all__ = ["SecretReaders"]
