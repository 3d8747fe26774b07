"""Tokens, job permissions and secret scope ACLs through `SqlStore`, on each database: a token
is found by its hash and revoked once; a job's access control list is replaced whole, audited,
and decides which jobs a user sees; a scope's ACL entries are put, replaced and deleted one by
one or whole, each change audited with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_builders import SETTINGS, T0, at

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.permissions import EVERYONE, Grant, Level, Principal
from headwater.core.secret_acls import ScopeAcl, ScopePermission
from headwater.errors import NotFound
from headwater.ports import JobRecord
from headwater.store import SqlStore


def test_a_token_is_found_by_its_hash_and_revoked_once(store: SqlStore) -> None:
    ann = store.add_token("hash-a", "ann", False, "laptop", T0, T0 + timedelta(days=90))
    admin = store.add_token("hash-b", "ops", True, "", at(1), None)

    found = store.token_by_hash("hash-a")
    assert found is not None and (found.token_id, found.user, found.admin) == (ann, "ann", False)
    assert found.expiry_time == T0 + timedelta(days=90) and found.revoked_time is None
    assert store.token_by_hash("nothing") is None
    assert [t.token_id for t in store.list_tokens()] == [ann, admin]

    assert store.revoke_token(ann, at(2)) == [ann]
    assert store.revoke_token(ann, at(3)) == []  # revoked already
    assert store.revoke_token(admin + 100, at(3)) == []  # no such token
    revoked = store.token_by_hash("hash-a")
    assert revoked is not None and revoked.revoked_time == at(2)


def test_revoking_a_token_revokes_its_sessions_and_audits_it_in_one_go(store: SqlStore) -> None:
    made = AuditEntry(T0, "ops", AuditAction.TOKEN_CREATED, details={"user": "ann"})
    ann = store.add_token("hash-a", "ann", False, "laptop", T0, None, audit=made)
    other = store.add_token("hash-b", "ann", False, "ci", T0, None)
    session = store.add_token("hash-s", "ann", False, "web session", at(1), at(99),
                              parent_id=ann)
    elsewhere = store.add_token("hash-t", "ann", False, "web session", at(1), at(99),
                                parent_id=other)
    found = store.token_by_hash("hash-s")
    assert found is not None and found.is_session and found.parent_id == ann
    assert not store.list_tokens()[0].is_session

    revoking = AuditEntry(at(2), "ops", AuditAction.TOKEN_REVOKED)
    assert store.revoke_token(ann, at(2), revoking) == [ann, session]
    assert [(t.token_id, t.revoked_time) for t in store.list_tokens()] == [
        (ann, at(2)), (other, None), (session, at(2)), (elsewhere, None)]
    entries = [e.entry for e in store.audit_entries()]
    assert [(e.action, dict(e.details)) for e in entries] == [
        (AuditAction.TOKEN_CREATED, {"user": "ann", "token_id": ann}),
        (AuditAction.TOKEN_REVOKED, {"revoked": [ann, session]})]

    assert store.revoke_user_tokens("ann", at(3), revoking) == [other, elsewhere]
    assert store.revoke_user_tokens("ann", at(4), revoking) == []  # nothing left to revoke
    assert len(store.audit_entries()) == 3  # and nothing audited for it


def test_grants_are_replaced_whole_audited_and_decide_what_a_user_sees(
        store: SqlStore, job: JobRecord) -> None:
    shared = store.create_job({**SETTINGS, "name": "shared"}, "jobs/s.yml", T0)
    store.set_job_grants(job.job_id, [Grant("ann", Level.IS_OWNER)], at(1), "ops")
    store.set_job_grants(shared.job_id, [Grant("bob", Level.IS_OWNER),
                                         Grant(EVERYONE, Level.CAN_VIEW, group=True)],
                         at(2), "ops")

    assert store.job_grants([job.job_id, shared.job_id, 999]) == {
        job.job_id: [Grant("ann", Level.IS_OWNER)],
        shared.job_id: [Grant("bob", Level.IS_OWNER),
                        Grant(EVERYONE, Level.CAN_VIEW, group=True)]}
    seen = {user: [j.job_id for j in store.list_jobs(visible_to=Principal(user))]
            for user in ("ann", "bob", "eve")}
    assert seen == {"ann": [job.job_id, shared.job_id], "bob": [shared.job_id],
                    "eve": [shared.job_id]}
    assert len(store.list_jobs(visible_to=Principal("eve", admin=True))) == 2

    store.set_job_grants(job.job_id, [], at(3), "ops")  # replaced by none: only admins see it
    assert store.job_grants([job.job_id]) == {}
    assert [j.job_id for j in store.list_jobs(visible_to=Principal("ann"))] == [shared.job_id]
    changes = [e.entry for e in store.audit_entries(job_id=job.job_id)
               if e.entry.action == AuditAction.PERMISSIONS_CHANGED]
    assert [(e.actor, e.details["access_control_list"]) for e in changes] == [
        ("ops", [{"user_name": "ann", "permission_level": "IS_OWNER"}]), ("ops", [])]
    with pytest.raises(NotFound):
        store.set_job_grants(999, [], at(4), "ops")


def test_a_scope_s_acl_is_put_replaced_and_deleted_entry_by_entry_each_change_audited(
        store: SqlStore) -> None:
    read, write, manage = ScopePermission.READ, ScopePermission.WRITE, ScopePermission.MANAGE

    def entry(action: AuditAction, scope: str, **details: str) -> AuditEntry:
        return AuditEntry(at(1), "ann", action, details={"scope": scope, **details})

    # Given two scopes made with their makers as managers, one of them with no ACL at all
    store.set_secret_acls("prod", [ScopeAcl("ann", manage)],
                          entry(AuditAction.SCOPE_CREATED, "prod"))
    store.set_secret_acls("open", [])
    assert store.secret_acls() == {"prod": [ScopeAcl("ann", manage)]}

    # When ann grants bob READ, then WRITE, and everyone READ
    store.put_secret_acl("prod", ScopeAcl("bob", read),
                         entry(AuditAction.SCOPE_ACL_PUT, "prod", principal="bob"))
    store.put_secret_acl("prod", ScopeAcl("bob", write),
                         entry(AuditAction.SCOPE_ACL_PUT, "prod", principal="bob"))
    store.put_secret_acl("prod", ScopeAcl(EVERYONE, read),
                         entry(AuditAction.SCOPE_ACL_PUT, "prod", principal=EVERYONE))

    # Then each principal has one entry, the latest
    assert store.secret_acls(["prod", "open", "nowhere"]) == {"prod": [
        ScopeAcl("ann", manage), ScopeAcl("bob", write), ScopeAcl(EVERYONE, read)]}

    # And deleting takes one entry away, once; a missing one writes nothing
    gone = entry(AuditAction.SCOPE_ACL_DELETED, "prod", principal="bob")
    assert store.delete_secret_acl("prod", "bob", gone) is True
    assert store.delete_secret_acl("prod", "bob", gone) is False
    assert store.secret_acls(["prod"]) == {"prod": [ScopeAcl("ann", manage),
                                                    ScopeAcl(EVERYONE, read)]}

    # And replacing the whole ACL with none (the scope deleted) leaves no entry
    store.set_secret_acls("prod", [], entry(AuditAction.SCOPE_DELETED, "prod"))
    assert store.secret_acls() == {}
    actions = [e.entry.action for e in store.audit_entries()
               if e.entry.action.startswith("secret.")]
    assert actions == [AuditAction.SCOPE_CREATED, *[AuditAction.SCOPE_ACL_PUT] * 3,
                       AuditAction.SCOPE_ACL_DELETED, AuditAction.SCOPE_DELETED]


def test_a_service_principal_s_grant_stays_one_and_is_audited_as_one(
        store: SqlStore, job: JobRecord) -> None:
    # Given a list with a service principal as owner, a user and the admins group
    robot = Grant("1234-abcd", Level.IS_OWNER, service_principal=True)
    listed = [robot, Grant("ann", Level.CAN_VIEW), Grant("admins", Level.CAN_MANAGE, group=True)]

    # When it is stored
    store.set_job_grants(job.job_id, listed, at(1), "ops")

    # Then each entry comes back as it was named, and acts as its user for who sees the job
    assert sorted(store.job_grants([job.job_id])[job.job_id], key=lambda g: g.name) == sorted(
        listed, key=lambda g: g.name)
    assert [j.job_id for j in store.list_jobs(visible_to=Principal("1234-abcd"))] == [
        job.job_id]
    change = next(e.entry for e in store.audit_entries(job_id=job.job_id)
                  if e.entry.action == AuditAction.PERMISSIONS_CHANGED)
    assert change.details["access_control_list"] == [
        {"service_principal_name": "1234-abcd", "permission_level": "IS_OWNER"},
        {"user_name": "ann", "permission_level": "CAN_VIEW"},
        {"group_name": "admins", "permission_level": "CAN_MANAGE"}]
