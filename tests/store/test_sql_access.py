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

    assert store.revoke_token(ann, at(2)) is True
    assert store.revoke_token(ann, at(3)) is False  # revoked already
    assert store.revoke_token(admin + 100, at(3)) is False  # no such token
    revoked = store.token_by_hash("hash-a")
    assert revoked is not None and revoked.revoked_time == at(2)


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
