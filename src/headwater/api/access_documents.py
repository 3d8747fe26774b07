"""The wire shapes of who may do what: `JobPermissions` and the SCIM `User` of `Me`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.core.permissions import EVERYONE, Grant, Principal

ADMINS = "admins"  # the group Databricks puts workspace admins in


def permissions_json(job_id: int, grants: Sequence[Grant]) -> dict[str, Any]:
    """`JobPermissions`: every entry of the job's list, with its one direct level."""
    return {
        "object_id": f"/jobs/{job_id}",
        "object_type": "job",
        "access_control_list": [
            {("group_name" if grant.group else "user_name"): grant.name,
             "display_name": grant.name,
             "all_permissions": [{"permission_level": grant.level.name, "inherited": False}]}
            for grant in grants
        ],
    }


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
