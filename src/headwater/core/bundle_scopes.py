"""A bundle's secret scopes: their names and the ACL entries their `permissions` ask for.

`databricks bundle deploy` makes each `resources.secret_scopes` entry and gives its
`permissions` (`level: READ|WRITE|MANAGE` to a `user_name`, `group_name` or
`service_principal_name`) as the scope's ACL. headwater does the same through its Secrets
API; the entries are read here, from the bundle's files and its target, with their references
filled in, and each mistake is located at its line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headwater.core.bundle_model import (
    BundleProblem,
    BundleSource,
    Definition,
    Origin,
    as_list,
    as_mapping,
)
from headwater.core.bundle_variables import ReferenceContext, Unresolved, fill_value
from headwater.core.checks import format_path
from headwater.core.secret_acls import ScopePermission

__all__ = ["ScopeGrant", "scope_grants", "scope_names"]

_PRINCIPALS = ("user_name", "group_name", "service_principal_name")


@dataclass(frozen=True, slots=True)
class ScopeGrant:
    """One ACL entry a bundle asks for: the scope, the principal and its permission."""

    scope: str
    principal: str
    permission: str  # READ, WRITE or MANAGE


def scope_names(others: Mapping[str, Mapping[str, object]]) -> tuple[str, ...]:
    """The names of the bundle's secret scopes (a scope's `name`, else its key), those whose
    references could be filled in."""
    names = [str(as_mapping(scope).get("name") or key)
             for key, scope in as_mapping(others.get("secret_scopes")).items()]
    return tuple(name for name in dict.fromkeys(names) if "${" not in name)


def scope_grants(
    sources: Sequence[BundleSource], definitions: Sequence[Definition],
    others: Mapping[str, Mapping[str, object]], references: ReferenceContext,
    problems: list[BundleProblem],
) -> tuple[ScopeGrant, ...]:
    """Every ACL entry the secret scopes' `permissions` ask for (the files', then the
    target's), each once; a bad entry is reported in `problems` at its place."""
    sections = [(Origin(s.index, ("resources", "secret_scopes")),
                 as_mapping(s.data.get("resources")).get("secret_scopes")) for s in sources]
    sections += [(Origin(at.source, (*at.path, "resources", "secret_scopes")),
                  as_mapping(d.get("resources")).get("secret_scopes")) for at, d in definitions]
    named = as_mapping(others.get("secret_scopes"))
    grants: list[ScopeGrant] = []
    for at, scopes in sections:
        for key, scope in as_mapping(scopes).items():
            name = str(as_mapping(named.get(key)).get("name") or key)
            for index, entry in enumerate(as_list(as_mapping(scope).get("permissions"))):
                origin = Origin(at.source, (*at.path, key, "permissions", index))
                grant = _grant(name, entry, origin, references, problems)
                if grant is not None and grant not in grants:
                    grants.append(grant)
    return tuple(grants)


def _grant(scope: str, entry: object, origin: Origin, references: ReferenceContext,
           problems: list[BundleProblem]) -> ScopeGrant | None:
    where = format_path(origin.path)
    try:
        filled = as_mapping(fill_value(entry, references))
    except Unresolved as error:
        problems.append(BundleProblem(origin, where, str(error)))
        return None
    level = filled.get("level")
    principals = [str(filled[field]) for field in _PRINCIPALS if filled.get(field)]
    if level not in ScopePermission.__members__:
        at_level = Origin(origin.source, (*origin.path, "level"))
        problems.append(BundleProblem(at_level, format_path(at_level.path), (
            f"{level!r} is not a secret scope permission: give READ, WRITE or MANAGE")))
        return None
    if len(principals) != 1:
        problems.append(BundleProblem(origin, where, (
            f"a permission names exactly one of {', '.join(_PRINCIPALS)} "
            f"({len(principals)} given)")))
        return None
    return ScopeGrant(scope, principals[0], str(level))
