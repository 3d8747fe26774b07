"""A bundle's resources other than jobs: read, left out, and named in one warning per type.

A bundle may define pipelines, schemas, volumes, apps, dashboards and the other resource types
of the Databricks CLI (`bundle/config/resources.go`) beside its jobs. headwater deploys jobs
(and makes the secret scopes their tasks read, `Composition.secret_scopes`), so it loads the
jobs and says once per type what it leaves out; a job task that needs one
of them (a `pipeline_task`) stays an error of that task. A type the CLI does not know is an
error, as it is for the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.core.bundle_model import BundleProblem, BundleSource, Definition, Origin, as_mapping
from headwater.core.checks import format_path, suggest

__all__ = ["OTHER_RESOURCE_TYPES", "other_resources", "resource_type_message"]

OTHER_RESOURCE_TYPES = (
    "job_runs", "pipelines", "models", "experiments", "model_serving_endpoints",
    "registered_models", "quality_monitors", "catalogs", "schemas", "volumes",
    "external_locations", "clusters", "dashboards", "genie_spaces", "apps", "secret_scopes",
    "alerts", "sql_warehouses", "database_instances", "database_catalogs",
    "synced_database_tables", "postgres_projects", "postgres_branches", "postgres_endpoints",
    "postgres_catalogs", "postgres_databases", "postgres_roles", "postgres_synced_tables",
    "vector_search_endpoints", "vector_search_indexes", "instance_pools", "secrets",
)
RESOURCE_TYPES = ("jobs", *OTHER_RESOURCE_TYPES)
_SHOWN_NAMES = 5


def resource_type_message(kind: str) -> str:
    """The error for a resource type the Databricks CLI does not know."""
    return (f"unknown resource type {kind!r}{suggest(kind, RESOURCE_TYPES)}; the Databricks "
            f"CLI knows: {', '.join(RESOURCE_TYPES)}")


def other_resources(
    sources: Sequence[BundleSource], definitions: Sequence[Definition]
) -> list[BundleProblem]:
    """One warning per resource type other than jobs, at its first place, naming its keys."""
    found: dict[str, tuple[Origin, list[str]]] = {}
    sections = [(Origin(s.index, ("resources",)), s.data.get("resources")) for s in sources]
    sections += [(Origin(at.source, (*at.path, "resources")), d.get("resources"))
                 for at, d in definitions]
    for at, resources in sections:
        for kind, entries in as_mapping(resources).items():
            if kind in OTHER_RESOURCE_TYPES:
                origin = Origin(at.source, (*at.path, kind))
                _, names = found.setdefault(kind, (origin, []))
                names += [str(name) for name in as_mapping(entries) if str(name) not in names]
    return [BundleProblem(origin, format_path(origin.path), _message(kind, names), True, True)
            for kind, (origin, names) in found.items()]


def _message(kind: str, names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN_NAMES]) + (", ..." if len(names) > _SHOWN_NAMES else "")
    if kind == "secret_scopes":  # a job's tasks read them: made here, as empty scopes
        return (f"secret_scopes ({len(names)}: {shown}) are made where the bundle runs or "
                "deploys, their permissions put as the scopes' ACLs (a scope without any is "
                "open to every job), without their backend; put their secrets with "
                "`headwater secrets put-secret SCOPE KEY`")
    return (f"headwater does not deploy {kind} ({len(names)}: {shown}); they are read and left "
            "out, and only the jobs are loaded")
