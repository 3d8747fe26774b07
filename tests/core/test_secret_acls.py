"""Secret scope ACLs, pure: MANAGE over WRITE over READ, `users` for everyone, admins hold
everything, and a scope without any entry is readable by every user and run."""

from __future__ import annotations

import pytest

from headwater.core.permissions import EVERYONE, Principal
from headwater.core.secret_acls import (
    ScopeAcl,
    ScopePermission,
    allows,
    checked_principal,
    parsed_permission,
    permission_on,
    readable_scopes,
    refusal,
)
from headwater.errors import InvalidRequest

READ, WRITE, MANAGE = ScopePermission.READ, ScopePermission.WRITE, ScopePermission.MANAGE
ANN, BOB, ADMIN = Principal("ann"), Principal("bob"), Principal("root", admin=True)
PROD = [ScopeAcl("ann", MANAGE), ScopeAcl("bob", READ)]


@pytest.mark.parametrize(("principal", "acls", "held"), [
    (ANN, PROD, MANAGE),
    (BOB, PROD, READ),
    (Principal("eve"), PROD, None),
    (Principal("eve"), [*PROD, ScopeAcl(EVERYONE, WRITE)], WRITE),  # users: everyone
    (BOB, [ScopeAcl("bob", READ), ScopeAcl(EVERYONE, WRITE)], WRITE),  # the highest wins
    (ADMIN, PROD, MANAGE),
    (Principal("eve"), [], READ),  # no ACL at all: open to read
    (ADMIN, [], MANAGE),
])
def test_a_principal_holds_the_highest_permission_any_entry_gives(
        principal: Principal, acls: list[ScopeAcl], held: ScopePermission | None) -> None:
    assert permission_on(principal, acls) == held


@pytest.mark.parametrize(("held", "needed", "allowed"), [
    (MANAGE, WRITE, True), (MANAGE, READ, True), (WRITE, READ, True),
    (WRITE, MANAGE, False), (READ, WRITE, False),
])
def test_manage_includes_write_includes_read(held: ScopePermission, needed: ScopePermission,
                                             allowed: bool) -> None:
    assert allows(ANN, [ScopeAcl("ann", held)], needed) is allowed


def test_the_readable_scopes_are_those_granted_and_those_without_acl() -> None:
    acls = {"prod": PROD, "bobs": [ScopeAcl("bob", MANAGE)]}

    assert readable_scopes(ANN, ["prod", "bobs", "old"], acls) == ["old", "prod"]
    assert readable_scopes(BOB, ["prod", "bobs", "old"], acls) == ["bobs", "old", "prod"]
    assert readable_scopes(ADMIN, ["bobs", "old"], acls) == ["bobs", "old"]


def test_a_refusal_names_the_scope_the_permission_and_who_can_grant_it() -> None:
    assert refusal(BOB, "prod", PROD, WRITE) == (
        "User bob does not have WRITE permission on secret scope 'prod'; a user with MANAGE "
        "on it (ann) or an admin can grant it: `headwater secrets put-acl prod bob WRITE` "
        "(`databricks secrets put-acl` against a server).")
    assert "; an admin can grant it" in refusal(BOB, "old", [], WRITE)


def test_what_cannot_be_a_permission_or_a_principal_says_what_can() -> None:
    assert parsed_permission("WRITE") is WRITE
    with pytest.raises(InvalidRequest, match="'OWNER' is not one of READ, WRITE, MANAGE"):
        parsed_permission("OWNER")
    with pytest.raises(InvalidRequest, match="'users' for everyone or 'admins' for the admins"):
        checked_principal(" ")
