"""`SqlStore`'s methods for tokens, job permissions and secret scope ACLs. A mixin; each
method is one transaction, its audit entry (if any) written in it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.permissions import Grant, principal_field
from headwater.core.secret_acls import ScopeAcl
from headwater.ports import TokenRecord
from headwater.store import access_queries, job_queries, ops_queries


class AccessMixin:
    """Tokens, job permissions and secret scope ACLs; mixed into `SqlStore`."""

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def add_token(self, token_hash: str, user: str, admin: bool, comment: str, at: datetime,
                  expiry: datetime | None, parent_id: int | None = None,
                  audit: AuditEntry | None = None) -> int:
        """Store a token's hash for `user` (a web session's with its `parent_id`); its id.
        `audit` is appended in the same transaction, with the new id in its details."""
        with self._writing() as conn:
            token_id = access_queries.add_token(conn, token_hash, user, admin, comment, at,
                                                expiry, parent_id)
            if audit is not None:
                ops_queries.append_audit(conn, [_with_details(audit, token_id=token_id)])
            return token_id

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash, valid or not; None if there is none."""
        with self._reading() as conn:
            return access_queries.token_by_hash(conn, token_hash)

    def list_tokens(self) -> list[TokenRecord]:
        with self._reading() as conn:
            return access_queries.list_tokens(conn)

    def revoke_token(self, token_id: int, at: datetime,
                     audit: AuditEntry | None = None) -> list[int]:
        """Revoke a token and the web sessions opened with it: the ids revoked now (none:
        no such valid token). `audit` goes with them, their ids in its details."""
        with self._writing() as conn:
            return _audited(conn, access_queries.revoke_token(conn, token_id, at), audit)

    def revoke_user_tokens(self, user: str, at: datetime,
                           audit: AuditEntry | None = None) -> list[int]:
        """Revoke every valid token and session of `user`, as `revoke_token`."""
        with self._writing() as conn:
            return _audited(conn, access_queries.revoke_user_tokens(conn, user, at), audit)

    def job_grants(self, job_ids: Collection[int]) -> dict[int, list[Grant]]:
        """job id -> its access control list."""
        with self._reading() as conn:
            return access_queries.grants(conn, job_ids)

    def set_job_grants(self, job_id: int, grants: Sequence[Grant], at: datetime,
                       actor: str) -> None:
        """Replace a job's access control list, audited; `NotFound` for an unknown job."""
        with self._writing() as conn:
            job_queries.get_job(conn, job_id)
            replace_grants(conn, job_id, grants, at, actor)

    def secret_acls(self, scopes: Collection[str] | None = None) -> dict[str, list[ScopeAcl]]:
        """scope -> its ACL (scopes without one are left out); every scope's without
        `scopes`."""
        with self._reading() as conn:
            return access_queries.scope_acls(conn, scopes)

    def set_secret_acls(self, scope: str, acls: Sequence[ScopeAcl],
                        audit: AuditEntry | None = None) -> None:
        """Replace a scope's whole ACL (none: the scope is open), with `audit`."""
        with self._writing() as conn:
            access_queries.delete_scope_acl(conn, scope)
            access_queries.add_scope_acls(conn, scope, acls)
            if audit is not None:
                ops_queries.append_audit(conn, [audit])

    def put_secret_acl(self, scope: str, acl: ScopeAcl, audit: AuditEntry) -> None:
        """Give the principal this permission on the scope (replacing theirs), audited."""
        with self._writing() as conn:
            access_queries.delete_scope_acl(conn, scope, acl.principal)
            access_queries.add_scope_acls(conn, scope, [acl])
            ops_queries.append_audit(conn, [audit])

    def delete_secret_acl(self, scope: str, principal: str, audit: AuditEntry) -> bool:
        """Remove the principal's entry on the scope, audited; False (and nothing written)
        when there is none."""
        with self._writing() as conn:
            deleted = access_queries.delete_scope_acl(conn, scope, principal)
            if deleted:
                ops_queries.append_audit(conn, [audit])
            return deleted


def replace_grants(conn: Connection, job_id: int, grants: Sequence[Grant], at: datetime,
                   actor: str) -> None:
    """Replace a job's access control list, audited."""
    access_queries.set_grants(conn, job_id, grants)
    ops_queries.append_audit(conn, [AuditEntry(
        at=at, actor=actor, action=AuditAction.PERMISSIONS_CHANGED, job_id=job_id,
        details={"access_control_list": [
            {principal_field(g): g.name, "permission_level": g.level.name}
            for g in grants]})])


def _with_details(entry: AuditEntry, **more: object) -> AuditEntry:
    return replace(entry, details={**entry.details, **more})


def _audited(conn: Connection, revoked: list[int], audit: AuditEntry | None) -> list[int]:
    """`revoked`, after appending `audit` naming them (nothing revoked: nothing to audit)."""
    if revoked and audit is not None:
        ops_queries.append_audit(conn, [_with_details(audit, revoked=revoked)])
    return revoked
