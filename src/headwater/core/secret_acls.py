"""Secret scope access control lists as Databricks has them: who may read, write or manage
a secret scope, through the Secrets API and from a run's tasks (`dbutils.secrets`).

Permissions, from least to most (a higher one allows everything a lower one does):

    what                                             READ  WRITE  MANAGE
    list a scope's secrets, read a value             yes   yes    yes
    put and delete secrets                                 yes    yes
    delete the scope, read and change its ACL                     yes

Anyone may create a scope (its creator, or `users` if it asks, gets MANAGE; `admins` when the
local command line makes it) and list the names of every scope; admins may do everything. A
principal is a user name or a built-in group: `users` (everyone) or `admins`. (**choice**) A
scope that has no entry at all (made before scopes had ACLs) is as if `users` had READ on it:
every user and every run reads it, only admins change it, until someone sets an ACL on it.

Pure: the store keeps the entries, the service and the engine ask `permission_on`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from headwater.core.permissions import ADMINS, EVERYONE, Principal
from headwater.errors import InvalidRequest

MAX_PRINCIPAL = 255  # characters of a principal's name, as the store keeps it


class ScopePermission(IntEnum):
    """A permission on a secret scope, ordered: a higher one allows what a lower one does."""

    READ = 1  # list the scope's secrets and read their values
    WRITE = 2  # also put and delete its secrets
    MANAGE = 3  # also delete the scope, and read and change its ACL


@dataclass(frozen=True, slots=True)
class ScopeAcl:
    """One entry of a scope's ACL: a user (or the group `users`) and its permission."""

    principal: str
    permission: ScopePermission


# What a scope without any entry grants (**choice**: see the module's docstring).
OPEN_SCOPE = (ScopeAcl(EVERYONE, ScopePermission.READ),)


def permission_on(principal: Principal, acls: Sequence[ScopeAcl]) -> ScopePermission | None:
    """The highest permission the scope's entries give the principal (admins: MANAGE)."""
    if principal.admin:
        return ScopePermission.MANAGE
    found = [a.permission for a in acls or OPEN_SCOPE
             if a.principal in (EVERYONE, principal.user)]
    return max(found, default=None)


def allows(principal: Principal, acls: Sequence[ScopeAcl], needed: ScopePermission) -> bool:
    """Whether the principal holds `needed` (or more) on a scope with these entries."""
    held = permission_on(principal, acls)
    return held is not None and held >= needed


def readable_scopes(principal: Principal, scopes: Iterable[str],
                    acls: Mapping[str, Sequence[ScopeAcl]]) -> list[str]:
    """The scopes of `scopes` the principal may read (`acls`: scope -> its entries)."""
    return sorted(s for s in scopes
                  if allows(principal, acls.get(s, ()), ScopePermission.READ))


def refusal(principal: Principal, scope: str, acls: Sequence[ScopeAcl],
            needed: ScopePermission) -> str:
    """Why the principal may not do what takes `needed` on `scope`, and who can grant it."""
    managers = [a.principal for a in acls
                if a.permission is ScopePermission.MANAGE and a.principal != ADMINS]
    who = f"a user with MANAGE on it ({', '.join(managers)}) or an admin" if managers \
        else "an admin"
    return (f"User {principal.user} does not have {needed.name} permission on secret scope "
            f"{scope!r}; {who} can grant it: "
            f"`headwater secrets put-acl {scope} {principal.user} {needed.name}` "
            "(`databricks secrets put-acl` against a server).")


def parsed_permission(text: str | None) -> ScopePermission:
    """The permission named `text`; else `InvalidRequest` naming those there are."""
    if text is None or text not in ScopePermission.__members__:
        raise InvalidRequest(f"permission {text!r} is not one of "
                             f"{', '.join(ScopePermission.__members__)}")
    return ScopePermission[text]


def checked_principal(principal: str | None) -> str:
    """`principal` if it can name a user or a group (`users`, `admins`); else
    `InvalidRequest`."""
    if not principal or not principal.strip() or len(principal) > MAX_PRINCIPAL:
        raise InvalidRequest(f"principal {principal!r} is not valid: give a user name, "
                             f"{EVERYONE!r} for everyone or {ADMINS!r} for the admins (at "
                             f"most {MAX_PRINCIPAL} characters)")
    return principal


__all__ = ["OPEN_SCOPE", "ScopeAcl", "ScopePermission", "allows", "checked_principal",
           "parsed_permission", "permission_on", "readable_scopes", "refusal"]
