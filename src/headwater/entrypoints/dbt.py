"""The child side of a `dbt_task`: run its dbt commands in order, stop at the first that fails.

    python -m headwater.entrypoints.dbt SPEC_JSON

SPEC_JSON (written by `headwater.runners.dbt`): `commands`, `project_dir`, and either
`profiles_dir` (the project's own profiles) or `warehouse` (`url`, `schema`, `catalog`: the
profile is written here, for that warehouse: a DuckDB file for dbt-duckdb, a PostgreSQL
database for dbt-postgres, whose password the profile reads from `HEADWATER_WAREHOUSE_PASSWORD`
with `env_var`, so it is never written to disk), and `artifacts_dir` (the attempt's folder for
dbt's `target/` and log).

The commands run in this process through dbt's programmatic runner (`dbtRunner`), one after
another, as dbt's documentation allows: dbt is imported once, not once a command. Each command
is split as a shell would split it (`--vars "{a: 1}"` stays one argument), without a shell.
What headwater sets, it sets as dbt's environment variables (`DBT_PROJECT_DIR`,
`DBT_PROFILES_DIR`, `DBT_TARGET_PATH`, `DBT_LOG_PATH`), so a flag written in a command wins,
as Databricks lets `--profiles-dir` win. dbt's anonymous usage statistics are off unless the
task turns them on: a task reaches no address it was not told about.

On a DuckDB warehouse each command holds the warehouse's lock (one writer at a time, as SQL
tasks do). On any warehouse headwater wrote the profile for, each table, view, seed or snapshot
a command built is logged as a commit of the warehouse, which is what table-update triggers
watch. The task's result
carries `dbt_output` (each command, and the nodes it ran with their status, time and rows);
its metrics the nodes that succeeded and failed and the rows dbt reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from headwater.entrypoints.filelock import locked
from headwater.entrypoints.sql import (
    DUCKDB_PREFIX,
    NOTICE_VARIABLE,
    PASSWORD_VARIABLE,
    commit_log,
    log_table,
)
from headwater.runtime import channel

__all__ = ["MAX_REPORTED_NODES", "METRICS", "NEEDS_DBT", "DbtFailure", "command_arguments",
           "failure_details", "failure_message", "main", "profile_text", "run"]

MAX_REPORTED_NODES = 1000  # nodes listed in `dbt_output`, over every command
METRICS = ("dbt_nodes_succeeded", "dbt_nodes_failed", "dbt_rows_affected")
BUILT = frozenset({"model", "seed", "snapshot"})  # node types that write a relation
_OK = frozenset({"success", "pass"})
_FAILED = frozenset({"error", "fail", "runtime error"})  # as core/dbt_results.FAILED_STATUSES
_TARGET_OPTIONS = ("--target", "-t")
_DEFAULTS = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
# What a profile written for a Databricks SQL warehouse reads (`env_var('DBT_HOST')`).
_DATABRICKS_VARIABLES = ("DBT_HOST", "DBT_ACCESS_TOKEN")
NEEDS_DBT = ("dbt_task needs dbt-core and the adapter of its profile in the task's Python: "
             "add them to the task's environment (dependencies: [\"dbt-core\", \"dbt-duckdb\"]) "
             "or libraries, or install them beside headwater: pip install 'headwater[dbt]'")


class DbtFailure(Exception):
    """A dbt command failed; the message says which and why, `output` what ran until then."""

    def __init__(self, message: str, output: Mapping[str, Any] | None = None,
                 details: str = "") -> None:
        super().__init__(message)
        self.output, self.details = output, details


def command_arguments(command: str) -> list[str]:
    """dbt's arguments of a command line (`dbt run --select x` -> `["run", "--select", "x"]`).

    Raises:
        DbtFailure: when the line does not start with `dbt` (a reference may have made it so).
    """
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise DbtFailure(f"{command!r} cannot be split into words: {error}") from None
    if len(words) < 2 or words[0] != "dbt":
        raise DbtFailure(f"{command!r} is not a dbt command: it must start with `dbt`")
    return words[1:]


def _targets(commands: Sequence[str]) -> list[str]:
    """The target names the commands select with `--target`/`-t`, in order."""
    found: list[str] = []
    for command in commands:
        words = shlex.split(command)
        for index, word in enumerate(words):
            name = None
            if word in _TARGET_OPTIONS and index + 1 < len(words):
                name = words[index + 1]
            elif word.startswith("--target="):
                name = word.partition("=")[2]
            if name and name not in found:
                found.append(name)
    return found


def profile_text(profile: str, warehouse: Mapping[str, Any], commands: Sequence[str]) -> str:
    """profiles.yml for `warehouse` under the project's `profile` name, as JSON (which YAML
    reads): its target `headwater`, and the same output under each target a command selects
    (`--target=dev` in a bundle's commands), so that those commands run on it too.

    Raises:
        DbtFailure: for a warehouse headwater writes no profile for (DuckDB and PostgreSQL
            only).
    """
    outputs = dict.fromkeys(["headwater", *_targets(commands)], _output(warehouse))
    return json.dumps({profile: {"target": "headwater", "outputs": outputs}}, indent=2)


def _output(warehouse: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's output for the warehouse: its adapter and where it connects."""
    url, schema = str(warehouse["url"]), warehouse.get("schema")
    if url.startswith(DUCKDB_PREFIX):
        return {"type": "duckdb", "path": url[len(DUCKDB_PREFIX):] or ":memory:",
                "schema": schema or "main", "threads": 1}
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise DbtFailure(f"headwater writes dbt profiles for DuckDB and PostgreSQL warehouses "
                         f"(with a database name) only, and this task's warehouse is "
                         f"{url.split(':', 1)[0]}; give the task a profiles_directory with "
                         "your own profiles.yml instead of warehouse_id")
    return {"type": "postgres", "host": parts.hostname or "localhost", "port": parts.port or 5432,
            "user": unquote(parts.username or ""), "dbname": unquote(parts.path.strip("/")),
            "password": "{{ env_var('" + PASSWORD_VARIABLE + "', '') }}",
            "schema": schema or "public", "threads": 1}


def _profile_name(project: Path) -> str:
    """The `profile:` of dbt_project.yml (dbt's default: the project's `name`)."""
    import yaml  # dbt depends on PyYAML, so it is here wherever dbt is

    data = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    name = data.get("profile") or data.get("name")
    if not isinstance(name, str) or not name:
        raise DbtFailure(f"{project / 'dbt_project.yml'}: no `profile:` (nor `name:`) to "
                         "write the warehouse's profile under")
    return name


def _node_results(result: Any) -> list[dict[str, Any]]:
    """What a command did to each node: id, type, status, seconds, rows, message, relation."""
    nodes = []
    for each in getattr(getattr(result, "result", None), "results", None) or ():
        node = getattr(each, "node", None)
        response = getattr(each, "adapter_response", None) or {}
        rows = response.get("rows_affected") if isinstance(response, dict) else None
        nodes.append({
            "unique_id": str(getattr(node, "unique_id", "?")),
            "resource_type": str(getattr(node, "resource_type", "")),
            "status": str(getattr(each, "status", "")),
            "execution_time": round(float(getattr(each, "execution_time", 0) or 0), 3),
            "rows_affected": rows if isinstance(rows, int) and rows >= 0 else None,
            "message": getattr(each, "message", None),
            "relation": f"{getattr(node, 'schema', '')}.{getattr(node, 'alias', '')}",
        })
    return nodes


def _summary(message: object) -> str:
    """The first two lines of a node's message, on one line: dbt writes what failed, then
    the database's reason (`Runtime Error in model x (models/x.sql)`, `Catalog Error: ...`)."""
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    return ": ".join(lines[:2])


def failure_message(number: int, total: int, command: str, result: Any,
                    nodes: Sequence[Mapping[str, Any]]) -> str:
    """The task's error: the command, and the nodes that failed with why (their first five;
    the whole of each message is in the log and in `dbt_output`), or dbt's own error."""
    failed = [node for node in nodes if node["status"] in _FAILED]
    why = "; ".join(f"{node['unique_id']} {node['status']}: {_summary(node['message'])}"
                    for node in failed[:5])
    if not why:
        exception = getattr(result, "exception", None)
        why = f"{type(exception).__name__}: {exception}" if exception else "see its log above"
        if any(name in why for name in _DATABRICKS_VARIABLES):
            why += (f"; Databricks sets {' and '.join(_DATABRICKS_VARIABLES)} for its SQL "
                    "warehouse, which headwater does not have: run on headwater's warehouse "
                    "with warehouse_id, or add a duckdb target to the profile")
    more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
    return f"dbt command {number} of {total} failed: {command}: {why}{more}"


def failure_details(result: Any, nodes: Sequence[Mapping[str, Any]]) -> str:
    """The error's trace: each failed node's whole message (dbt's and the database's), or
    dbt's own error, rather than a Python traceback of headwater's."""
    failed = [f"{node['unique_id']} {node['status']}:\n{node['message']}" for node in nodes
              if node["status"] in _FAILED]
    exception = getattr(result, "exception", None)
    return "\n\n".join(failed) or (f"{type(exception).__name__}: {exception}"
                                    if exception else "")


@contextlib.contextmanager
def _scratch_profiles(spec: Mapping[str, Any], project: Path) -> Iterator[str]:
    """The profiles folder: the project's own, or a temporary one written for the warehouse."""
    warehouse = spec.get("warehouse")
    if not warehouse:
        yield str(spec["profiles_dir"])
        return
    text = profile_text(_profile_name(project), warehouse, spec["commands"])
    with tempfile.TemporaryDirectory(prefix="headwater-dbt-") as folder:
        Path(folder, "profiles.yml").write_text(text, encoding="utf-8")
        yield folder


def _database(spec: Mapping[str, Any]) -> Path | None:
    """The embedded DuckDB file the written profile uses (None: another, or the user's)."""
    url = str((spec.get("warehouse") or {}).get("url") or "")
    location = url[len(DUCKDB_PREFIX):] if url.startswith(DUCKDB_PREFIX) else ""
    return Path(location) if location and location != ":memory:" else None


def _notices(spec: Mapping[str, Any]) -> None:
    if os.environ.get(NOTICE_VARIABLE):
        print(os.environ[NOTICE_VARIABLE], file=sys.stderr)
    catalog = (spec.get("warehouse") or {}).get("catalog")
    if catalog:
        print(f"catalog {catalog!r}: each of headwater's warehouses is one catalog; the models "
              "go to its schema", file=sys.stderr)


def run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run the commands of `spec`; `dbt_output`.

    Raises:
        DbtFailure: at the first command that fails (what ran before is in its `output`).
    """
    try:
        from dbt.cli.main import dbtRunner
    except ImportError as error:
        raise DbtFailure(f"{NEEDS_DBT} ({error})") from None
    project = Path(spec["project_dir"])
    commands: list[str] = list(spec["commands"])
    arguments = [command_arguments(command) for command in commands]  # all, before any runs
    database = _database(spec)
    url = str((spec.get("warehouse") or {}).get("url") or "")
    log = commit_log(url) if url else None  # with the project's own profile: not known
    output: dict[str, Any] = {"commands": []}
    totals = dict.fromkeys(METRICS, 0)
    reported = 0
    with _scratch_profiles(spec, project) as profiles:
        variables = {"DBT_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": profiles}
        if spec.get("artifacts_dir"):
            artifacts = Path(spec["artifacts_dir"])
            variables |= {"DBT_TARGET_PATH": str(artifacts / "target"),
                          "DBT_LOG_PATH": str(artifacts / "logs")}
            output["artifacts"] = str(artifacts)
        for name, value in _DEFAULTS.items():
            os.environ.setdefault(name, value)
        os.environ.update(variables)
        for number, (command, words) in enumerate(zip(commands, arguments, strict=True), 1):
            print(f"headwater: dbt command {number} of {len(commands)}: {command}", flush=True)
            started = time.monotonic()
            with locked(database) if database else contextlib.nullcontext():
                result = dbtRunner().invoke(words)
                nodes = _node_results(result)
                if log is not None:
                    for node in nodes:
                        if node["resource_type"] in BUILT and node["status"] in _OK:
                            log_table(log, node["relation"])
            shown = nodes[:max(0, MAX_REPORTED_NODES - reported)]
            reported += len(shown)
            output["commands"].append({
                "command": command, "success": bool(result.success),
                "seconds": round(time.monotonic() - started, 3), "nodes": shown,
                "nodes_truncated": len(shown) < len(nodes)})
            _record_metrics(totals, nodes)
            if not result.success:
                raise DbtFailure(failure_message(number, len(commands), command, result, nodes),
                                 output, failure_details(result, nodes))
    return output


def _record_metrics(totals: dict[str, int], nodes: Sequence[Mapping[str, Any]]) -> None:
    """Add a command's figures to `totals` and record them as the attempt's metrics (the last
    value of a name is the one kept, so each is recorded as the running total)."""
    totals["dbt_nodes_succeeded"] += sum(node["status"] in _OK for node in nodes)
    totals["dbt_nodes_failed"] += sum(node["status"] in _FAILED for node in nodes)
    totals["dbt_rows_affected"] += sum(node["rows_affected"] or 0 for node in nodes)
    for name, value in totals.items():
        channel.append_line(channel.METRICS, {"name": name, "value": value})


def main(argv: Sequence[str]) -> int:
    """Run a dbt task; 0 when every command succeeded, 1 when one failed, 2 on bad arguments."""
    if len(argv) != 1:
        print("usage: python -m headwater.entrypoints.dbt SPEC_JSON", file=sys.stderr)
        return 2
    spec = json.loads(argv[0])
    _notices(spec)
    try:
        output = run(spec)
    except Exception as error:  # the task's failure, reported in its result
        failure = error if isinstance(error, DbtFailure) else None
        message = str(error) if failure else f"{type(error).__name__}: {error}"
        trace = failure.details if failure and failure.details else traceback.format_exc()
        fields: dict[str, object] = {"error": message, "error_trace": trace}
        if failure is not None and failure.output is not None:
            fields["dbt_output"] = failure.output
        channel.update_result(fields)
        print(message, file=sys.stderr)
        return 1
    channel.update_result({"dbt_output": output})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
