"""Statements on tokens, job permissions and secret scope ACLs, as functions of an open
`Connection`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, or_, select, update

from headwater.core.permissions import EVERYONE, Grant, Level, Principal
from headwater.core.secret_acls import ScopeAcl, ScopePermission
from headwater.ports import TokenRecord
from headwater.store.tables import job_permissions, secret_acls, tokens


def add_token(conn: Connection, token_hash: str, user: str, admin: bool, comment: str,
              at: datetime, expiry: datetime | None, parent_id: int | None = None) -> int:
    return int(conn.execute(insert(tokens).values(
        token_hash=token_hash, user_name=user, admin=admin, comment=comment, created_time=at,
        expiry_time=expiry, parent_token_id=parent_id).returning(tokens.c.token_id)).scalar_one())


def _token(row: object) -> TokenRecord:
    return TokenRecord(row.token_id, row.user_name, row.admin, row.comment,  # type: ignore[attr-defined]
                       row.created_time, row.expiry_time, row.revoked_time,  # type: ignore[attr-defined]
                       row.parent_token_id)  # type: ignore[attr-defined]


def token_by_hash(conn: Connection, token_hash: str) -> TokenRecord | None:
    row = conn.execute(select(tokens).where(tokens.c.token_hash == token_hash)).first()
    return None if row is None else _token(row)


def list_tokens(conn: Connection) -> list[TokenRecord]:
    return [_token(row) for row in conn.execute(select(tokens).order_by(tokens.c.token_id))]


def revoke_token(conn: Connection, token_id: int, at: datetime) -> list[int]:
    """Revoke the token and the sessions opened with it; the ids revoked now. A revoked
    token's sessions were revoked with it, so a token already revoked revokes nothing."""
    if conn.execute(select(tokens.c.token_id).where(
            tokens.c.token_id == token_id, tokens.c.revoked_time.is_(None))).first() is None:
        return []
    return _revoke(conn, or_(tokens.c.token_id == token_id,
                             tokens.c.parent_token_id == token_id), at)


def revoke_user_tokens(conn: Connection, user: str, at: datetime) -> list[int]:
    return _revoke(conn, tokens.c.user_name == user, at)


def _revoke(conn: Connection, which: ColumnElement[bool], at: datetime) -> list[int]:
    valid = and_(which, tokens.c.revoked_time.is_(None))
    ids = sorted(conn.execute(select(tokens.c.token_id).where(valid)).scalars())
    if ids:
        conn.execute(update(tokens).where(tokens.c.token_id.in_(ids)).values(revoked_time=at))
    return ids


def grants(conn: Connection, job_ids: Collection[int]) -> dict[int, list[Grant]]:
    """job id -> its access control list (jobs without one are left out)."""
    if not job_ids:
        return {}
    found: dict[int, list[Grant]] = {}
    query = (select(job_permissions).where(job_permissions.c.job_id.in_(list(job_ids)))
             .order_by(job_permissions.c.job_id, job_permissions.c.is_group,
                       job_permissions.c.principal))
    for row in conn.execute(query):
        found.setdefault(row.job_id, []).append(
            Grant(row.principal, Level[row.level], bool(row.is_group),
                  bool(row.is_service_principal)))
    return found


def set_grants(conn: Connection, job_id: int, new: Sequence[Grant]) -> None:
    """Replace a job's access control list."""
    conn.execute(delete(job_permissions).where(job_permissions.c.job_id == job_id))
    if new:
        conn.execute(insert(job_permissions), [
            {"job_id": job_id, "principal": g.name, "is_group": g.group,
             "is_service_principal": g.service_principal, "level": g.level.name}
            for g in new])


def visible_to(principal: Principal, job_id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """A condition on `job_id_column`: the principal may see that job (admins see all)."""
    if principal.admin:
        return job_id_column.is_not(None)
    mine = or_(and_(job_permissions.c.is_group.is_(False),
                    job_permissions.c.principal == principal.user),
               and_(job_permissions.c.is_group.is_(True),
                    job_permissions.c.principal == EVERYONE))
    return job_id_column.in_(select(job_permissions.c.job_id).where(mine))


def scope_acls(conn: Connection, scopes: Collection[str] | None) -> dict[str, list[ScopeAcl]]:
    """scope -> its ACL, by principal (scopes without one are left out); every scope's
    without `scopes`."""
    query = select(secret_acls).order_by(secret_acls.c.scope, secret_acls.c.principal)
    if scopes is not None:
        query = query.where(secret_acls.c.scope.in_(list(scopes)))
    found: dict[str, list[ScopeAcl]] = {}
    for row in conn.execute(query):
        found.setdefault(row.scope, []).append(
            ScopeAcl(row.principal, ScopePermission[row.permission]))
    return found


def delete_scope_acl(conn: Connection, scope: str, principal: str | None = None) -> bool:
    """Remove the principal's entry on the scope (None: every entry); whether one was."""
    condition = secret_acls.c.scope == scope
    if principal is not None:
        condition = and_(condition, secret_acls.c.principal == principal)
    return bool(conn.execute(delete(secret_acls).where(condition)).rowcount)


def add_scope_acls(conn: Connection, scope: str, acls: Sequence[ScopeAcl]) -> None:
    if acls:
        conn.execute(insert(secret_acls), [
            {"scope": scope, "principal": a.principal, "permission": a.permission.name}
            for a in acls])
