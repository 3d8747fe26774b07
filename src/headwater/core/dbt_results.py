"""Reading what a dbt task's commands did (`dbt_output`, written by `entrypoints/dbt.py`):
how many nodes ended in each status, and which failed. For the CLI and the web UI alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FAILED_STATUSES", "NODE_COMMANDS", "failed_nodes", "status_tally"]

# dbt's statuses of a node that failed: a model's `error`, a test's `fail`, `runtime error`.
# `entrypoints/dbt.py` has the same set (the task side imports nothing of the core).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


# The dbt commands that run the nodes a selection picks: with none, the selection matched
# nothing (a misspelt `--select`), which dbt itself reports only as "Nothing to do".
NODE_COMMANDS = frozenset({"run", "build", "test", "seed", "snapshot"})


def status_tally(nodes: Iterable[Mapping[str, Any]], command: str = "") -> str:
    """`1 fail, 2 success`: how many nodes ended in each status, by status name; for a
    command that runs nodes and ran none, `no node ran: its selection matched nothing`."""
    counts = Counter(str(node.get("status", "")) for node in nodes)
    if not counts and _verb(command) in NODE_COMMANDS:
        return "no node ran: its selection matched nothing"
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def _verb(command: str) -> str:
    """`run` of `dbt run --select x`."""
    words = command.split()
    return words[1] if len(words) > 1 and words[0] == "dbt" else ""


def failed_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The nodes that failed, in the order they ran."""
    return [node for node in nodes if node.get("status") in FAILED_STATUSES]
