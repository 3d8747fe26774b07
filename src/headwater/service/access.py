"""Who may do what: the acting principal, job permissions and tokens.

Every use case asks `authorize(job_id, action)` before it acts; the rules are the pure
`core.permissions`. The local command line acts as an admin of its own state store; the API
acts as the user of each request's token (`Service.acting_as`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.permissions import (
    DESCRIPTIONS,
    GROUPS,
    NEEDS,
    Action,
    Grant,
    Level,
    Principal,
    allows,
    checked,
    merged,
    owner_grant,
    owner_of,
)
from headwater.core.spec import JobSettings
from headwater.errors import InvalidRequest, NotFound, PermissionDenied
from headwater.ports import Clock, Store, TokenRecord

TOKEN_PREFIX = "dapi"  # noqa: S105 - what Databricks personal access tokens start with


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: its id and its text, shown once and never stored."""

    token_id: int
    token: str
    record: TokenRecord


class AccessMixin:
    """Permissions and tokens; mixed into `Service`."""

    store: Store
    clock: Clock
    user: str
    admin: bool

    @property
    def principal(self) -> Principal:
        return Principal(self.user, self.admin)

    def authorize(self, job_id: int, action: Action) -> list[Grant]:
        """The job's grants, if the principal may do `action`; else `PermissionDenied`."""
        grants = self.store.job_grants([job_id]).get(job_id, [])
        if not allows(self.principal, grants, action):
            raise PermissionDenied(
                f"User {self.user} does not have permission to {_WORDS[action]} job {job_id} "
                f"(it takes {_level_needed(action)}).")
        return grants

    def require_admin(self, what: str) -> None:
        if not self.admin:
            raise PermissionDenied(f"Only admins may {what}.")

    def check_identity(self, run_as: str | None, owner: str | None,
                       was_run_as: str | None = None, was_owner: str | None = None) -> None:
        """`PermissionDenied` when a non-admin would make a job run as someone else, by naming
        them in its `run_as` or making them its owner (who runs it when `run_as` is unset).
        Lakeflow lets non-admins name only themselves; what a job had already stays."""
        if self.admin:
            return
        problems = []
        if run_as not in (None, self.user, was_run_as):
            problems.append(f"run_as: only an admin may make a job run as another user "
                            f"({run_as}); remove run_as, or name yourself ({self.user})")
        if owner not in (None, self.user, was_owner):
            problems.append(f"access_control_list: only an admin may make another user "
                            f"({owner}) the owner of a job, who runs it unless it sets run_as; "
                            f"stay its owner and grant {owner} CAN_MANAGE instead")
        if problems:
            raise PermissionDenied("; ".join(problems))

    def audit(self, action: AuditAction, **details: object) -> None:
        """Record that the caller did `action` now (what it was about in `details`)."""
        self.store.append_audit([AuditEntry(self.clock.now(), self.user, action,
                                            details=details)])

    # Permissions.

    def job_permissions(self, job_id: int) -> list[Grant]:
        """A job's access control list (for anyone who may view the job)."""
        self.store.get_job(job_id)
        return self.authorize(job_id, Action.VIEW)

    def set_job_permissions(self, job_id: int, grants: Sequence[Grant],
                            replace: bool = True) -> list[Grant]:
        """Replace (PUT) or add to (PATCH) a job's access control list.

        Replacing keeps the current owner when the new list names none, as Databricks does.
        """
        job = self.store.get_job(job_id)
        current = self.authorize(job_id, Action.PERMISSIONS)
        self.check_principals(grants, [*filter(None, [job.creator]),
                                       *(g.name for g in current if not g.group)])
        named_owners = [g.name for g in grants if g.level is Level.IS_OWNER]
        if len(named_owners) > 1:  # never keep one and drop the other without a word
            raise InvalidRequest(
                f"{' and '.join(named_owners)} are each IS_OWNER, but a job has exactly one "
                "owner: keep one, and give the others another level (CAN_MANAGE, say)")
        if replace:
            owner = owner_grant(grants) or owner_grant(current)
            kept = [g for g in grants if g.level is not Level.IS_OWNER]
            new = [*kept, owner] if owner else list(kept)
        else:
            new = merged(current, grants)
        checked(new)  # first: a group named as owner is a bad list, not another user
        self.check_identity(None, owner_of(grants), was_owner=owner_of(current))
        self.store.set_job_grants(job_id, new, self.clock.now(), self.user)
        return new

    def check_principals(self, grants: Sequence[Grant], known: Collection[str],
                         where: str = "access_control_list") -> None:
        """`InvalidRequest` naming each entry of `grants` (a request's, in its order) for a
        user headwater does not know: one who never had a token, is not the caller and is
        not in `known` (the job's creator and list), as Databricks refuses an unknown
        principal. A service principal is the user of its name (its token's user)."""
        users = {self.user, *known, *(token.user for token in self.store.list_tokens())}
        problems = [f"{where}[{index}]: unknown user or service principal {grant.name!r}; "
                    "name one who has a token (headwater's users are its tokens' users)"
                    for index, grant in enumerate(grants)
                    if not grant.group and grant.name not in users]
        if problems:
            raise InvalidRequest("; ".join(problems))

    def permission_levels(self) -> list[dict[str, str]]:
        return [{"permission_level": level.name, "description": DESCRIPTIONS[level]}
                for level in Level]

    # Tokens.

    def create_token(self, user: str, admin: bool = False, lifetime_days: int | None = None,
                     comment: str = "") -> NewToken:
        """A new token for `user`: its text is returned once; only its hash is kept."""
        self.require_admin("create tokens")
        if not user or user in GROUPS:  # a user "admins" would be given the admins' grants
            raise InvalidRequest(f"a token needs a user name, not {user!r}"
                                 f"{': it names a built-in group' if user else ''}")
        token = f"{TOKEN_PREFIX}{secrets.token_hex(16)}"
        now = self.clock.now()
        expiry = None if lifetime_days is None else now + timedelta(days=lifetime_days)
        made = AuditEntry(now, self.user, AuditAction.TOKEN_CREATED, details={
            "user": user, "admin": admin, "comment": comment,
            "expiry_time": expiry.isoformat() if expiry else None})
        token_id = self.store.add_token(token_hash(token), user, admin, comment, now, expiry,
                                        audit=made)
        record = TokenRecord(token_id, user, admin, comment, now, expiry, None)
        return NewToken(token_id, token, record)

    def list_tokens(self) -> list[TokenRecord]:
        self.require_admin("list tokens")
        return self.store.list_tokens()

    def revoke_token(self, token_id: int) -> list[int]:
        """Revoke a token and the web sessions opened with it; the ids revoked."""
        self.require_admin("revoke tokens")
        now = self.clock.now()
        revoked = self.store.revoke_token(token_id, now, self._revoking(now))
        if not revoked:
            raise NotFound(f"Token {token_id} does not exist or was revoked already.")
        return revoked

    def revoke_user_tokens(self, user: str) -> list[int]:
        """Revoke every token and web session of `user` (offboarding); the ids revoked."""
        self.require_admin("revoke tokens")
        now = self.clock.now()
        revoked = self.store.revoke_user_tokens(user, now, self._revoking(now, user=user))
        if not revoked:
            raise NotFound(f"User {user} has no valid token (`headwater tokens list` shows "
                           "every token and its user).")
        return revoked

    def _revoking(self, now: datetime, **details: object) -> AuditEntry:
        return AuditEntry(now, self.user, AuditAction.TOKEN_REVOKED, details=details)

    def valid_token(self, token: str) -> TokenRecord | None:
        """The record of a token (an API token's or a session's) if it is valid now."""
        record = self.store.token_by_hash(token_hash(token))
        return record if record is not None and record.valid_at(self.clock.now()) else None


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def grants_of(access_control_list: Sequence[dict[str, Any]],
              where: str = "access_control_list") -> list[Grant]:
    """The grants of a Databricks `access_control_list`; `InvalidRequest` naming each bad
    entry."""
    found, problems = [], []
    for index, entry in enumerate(access_control_list):
        level_name = entry.get("permission_level")
        named = [k for k in ("user_name", "group_name", "service_principal_name") if entry.get(k)]
        if len(named) != 1:
            problems.append(f"{where}[{index}]: give exactly one of user_name, group_name, "
                            "service_principal_name")
            continue
        if level_name not in Level.__members__:
            problems.append(f"{where}[{index}].permission_level: {level_name!r} is not one of "
                            f"{', '.join(Level.__members__)}")
            continue
        key = named[0]
        found.append(Grant(str(entry[key]), Level[str(level_name)], group=key == "group_name",
                           service_principal=key == "service_principal_name"))
    owners = [f"{where}[{index}]" for index, entry in enumerate(access_control_list)
              if entry.get("permission_level") == Level.IS_OWNER.name]
    if len(owners) > 1:
        problems.append(f"{where}: a job has exactly one owner, but {len(owners)} entries are "
                        f"IS_OWNER ({', '.join(owners)}); keep one, and give the others "
                        "CAN_MANAGE")
    if problems:
        raise InvalidRequest("; ".join(problems))
    return found


def declared_grants(settings: JobSettings) -> list[Grant]:
    """The grants a job's own settings declare: a bundle's `permissions` (`level`) and the
    API's `access_control_list` (`permission_level`)."""
    entries = [{**p.model_dump(mode="json", exclude_none=True, exclude={"level"}),
                "permission_level": p.model_dump(mode="json")["level"]}
               for p in settings.permissions]
    entries += [a.model_dump(mode="json", exclude_none=True)
                for a in settings.access_control_list]
    return grants_of(entries, "permissions")


_WORDS = {Action.VIEW: "view", Action.LOGS: "see the logs of", Action.RUN: "run",
          Action.MANAGE: "manage", Action.PERMISSIONS: "change the permissions of"}


def _level_needed(action: Action) -> str:
    return NEEDS[action].name


__all__ = ["AccessMixin", "NewToken", "declared_grants", "grants_of", "token_hash"]
