"""The wire shapes of who may do what: `JobPermissions` and the SCIM `User` of `Me`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.core.permissions import ADMINS, EVERYONE, Grant, Level, Principal, principal_field


def permissions_json(job_id: int, grants: Sequence[Grant]) -> dict[str, Any]:
    """`JobPermissions`: every entry of the job's list, with its one direct level; then the
    `admins` group's inherited CAN_MANAGE, unless the list grants `admins` directly."""
    direct = [{principal_field(grant): grant.name, "display_name": grant.name,
               "all_permissions": [{"permission_level": grant.level.name, "inherited": False}]}
              for grant in grants]
    admins_granted = any(grant.group and grant.name == ADMINS for grant in grants)
    return {
        "object_id": f"/jobs/{job_id}",
        "object_type": "job",
        "access_control_list": direct if admins_granted else [*direct, _inherited_admins()],
    }


def _inherited_admins() -> dict[str, Any]:
    """The entry Databricks lists for every job: the `admins` group manages it, from the
    workspace's jobs folder (headwater's admins may do everything with any job)."""
    return {"group_name": ADMINS, "display_name": ADMINS,
            "all_permissions": [{"permission_level": Level.CAN_MANAGE.name, "inherited": True,
                                 "inherited_from_object": ["/jobs/"]}]}


def me_json(principal: Principal) -> dict[str, Any]:
    """The SCIM `User` of `GET /api/2.0/preview/scim/v2/Me`: the token's user, in the group
    of everyone (and of admins, for an admin); a user named by an e-mail address (as
    Databricks names users) has it as their primary e-mail."""
    groups = [EVERYONE, *([ADMINS] if principal.admin else [])]
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": principal.user,
        "userName": principal.user,
        "displayName": principal.user,
        "active": True,
        "groups": [{"display": name, "value": name} for name in groups],
    }
    if "@" in principal.user:
        body["emails"] = [{"value": principal.user, "type": "work", "primary": True}]
    return body


__all__ = ["me_json", "permissions_json"]
