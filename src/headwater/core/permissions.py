"""Job permissions as Databricks has them: who may do what with a job and its runs.

Levels, from least to most: `CAN_VIEW`, `CAN_MANAGE_RUN`, `CAN_MANAGE`, `IS_OWNER`. A job's
access control list grants levels to users, service principals and groups. A service principal
acts as the user of its name (headwater's users are its tokens' users; a service principal's
token is made for its application id); the entry only remembers how it was named, so that it is
given back as `service_principal_name`. There are two groups, as in a Databricks workspace: the
built-in `users` means everyone with a token, and `admins` the admins, who may do everything
anyway (a grant to it changes nothing, but is kept). A user's level is the highest any entry
gives them, and a job's runs inherit its permissions. Exactly one owner, a user or a service
principal: the creator unless the list names another.

What each level allows (Lakeflow's "Jobs access control"):

    action          CAN_VIEW  CAN_MANAGE_RUN  CAN_MANAGE  IS_OWNER
    VIEW            yes       yes             yes         yes     the job, its runs, results
    LOGS                      yes             yes         yes     a run's logs
    RUN                       yes             yes         yes     run now, cancel, repair
    MANAGE                                    yes         yes     edit and delete the job
    PERMISSIONS                               yes         yes     change who may do what

Pure: the store keeps the lists, the service asks `allows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from headwater.errors import InvalidRequest

EVERYONE = "users"  # the built-in group of every user
ADMINS = "admins"  # the group Databricks puts workspace admins in
GROUPS = (EVERYONE, ADMINS)


class Level(IntEnum):
    """A permission level on a job, ordered: a higher level allows everything a lower does."""

    CAN_VIEW = 1
    CAN_MANAGE_RUN = 2
    CAN_MANAGE = 3
    IS_OWNER = 4


class Action(StrEnum):
    """What a request does to a job or its runs."""

    VIEW = "VIEW"
    LOGS = "LOGS"
    RUN = "RUN"
    MANAGE = "MANAGE"
    PERMISSIONS = "PERMISSIONS"


NEEDS = {Action.VIEW: Level.CAN_VIEW, Action.LOGS: Level.CAN_MANAGE_RUN,
         Action.RUN: Level.CAN_MANAGE_RUN, Action.MANAGE: Level.CAN_MANAGE,
         Action.PERMISSIONS: Level.CAN_MANAGE}
DESCRIPTIONS = {
    Level.CAN_VIEW: "Can view the job, its runs and their results",
    Level.CAN_MANAGE_RUN: "Can view, see logs, run now, cancel and repair runs",
    Level.CAN_MANAGE: "Can view, run, edit and delete the job, and change its permissions",
    Level.IS_OWNER: "Owns the job: can do everything with it",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a user, and whether they are an admin (who may do everything)."""

    user: str
    admin: bool = False


@dataclass(frozen=True, slots=True)
class Grant:
    """One entry of a job's access control list: a user, a service principal (who acts as
    the user of its name) or a group, and a level."""

    name: str
    level: Level
    group: bool = False
    service_principal: bool = False


def principal_field(grant: Grant) -> str:
    """The field of a Databricks access control entry that names the grant's principal."""
    if grant.group:
        return "group_name"
    return "service_principal_name" if grant.service_principal else "user_name"


def level_of(principal: Principal, grants: Iterable[Grant]) -> Level | None:
    """The highest level the grants give the principal (admins: as an owner)."""
    if principal.admin:
        return Level.IS_OWNER
    levels = [g.level for g in grants
              if (g.group and g.name == EVERYONE) or (not g.group and g.name == principal.user)]
    return max(levels, default=None)


def allows(principal: Principal, grants: Iterable[Grant], action: Action) -> bool:
    """Whether the principal may do `action` on a job with these grants."""
    level = level_of(principal, grants)
    return level is not None and level >= NEEDS[action]


def owner_of(grants: Iterable[Grant]) -> str | None:
    owner = owner_grant(grants)
    return owner.name if owner else None


def owner_grant(grants: Iterable[Grant]) -> Grant | None:
    """The owner's entry: it says whether the owner is a service principal."""
    return next((g for g in grants if g.level is Level.IS_OWNER), None)


def checked(grants: Sequence[Grant], where: str = "access_control_list") -> list[Grant]:
    """The grants of a list, or `InvalidRequest` naming every problem: one owner, a user or
    service principal; a group can only be `users` or `admins`; one entry per principal (a
    service principal and a user of the same name are one)."""
    problems = []
    owners = [g for g in grants if g.level is Level.IS_OWNER]
    if len(owners) != 1:
        problems.append(f"{where}: a job has exactly one IS_OWNER, got {len(owners)}")
    for index, grant in enumerate(grants):
        if grant.group and grant.name not in GROUPS:
            problems.append(f"{where}[{index}].group_name: unknown group {grant.name!r}; the "
                            f"groups are {EVERYONE!r} (everyone) and {ADMINS!r} (the admins)")
        if grant.group and grant.level is Level.IS_OWNER:
            problems.append(f"{where}[{index}]: a group cannot own a job; give IS_OWNER to a "
                            "user or a service principal")
    names = [(g.group, g.name) for g in grants]
    if len(set(names)) != len(names):
        problems.append(f"{where}: one entry per user, service principal or group")
    if problems:
        raise InvalidRequest("; ".join(problems))
    return list(grants)


def merged(current: Sequence[Grant], added: Sequence[Grant]) -> list[Grant]:
    """`PATCH`: the entries added replace those of the same user or group; a new owner makes
    the old one CAN_MANAGE (as Databricks does when ownership moves)."""
    new_owner = owner_of(added)
    kept = [g for g in current if (g.group, g.name) not in {(a.group, a.name) for a in added}]
    if new_owner is not None:
        kept = [replace(g, level=Level.CAN_MANAGE) if g.level is Level.IS_OWNER else g
                for g in kept]
    return [*kept, *added]


__all__ = ["ADMINS", "DESCRIPTIONS", "EVERYONE", "GROUPS", "NEEDS", "Action", "Grant", "Level",
           "Principal", "allows", "checked", "level_of", "merged", "owner_grant", "owner_of",
           "principal_field"]
