"""Reading what a dbt task's commands did (`dbt_output`, written by `entrypoints/dbt.py`):
how many nodes ended in each status, and which failed. For the CLI and the web UI alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FAILED_STATUSES", "failed_nodes", "status_tally"]

# dbt's statuses of a node that failed: a model's `error`, a test's `fail`, `runtime error`.
# `entrypoints/dbt.py` has the same set (the task side imports nothing of the core).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


def status_tally(nodes: Iterable[Mapping[str, Any]]) -> str:
    """`1 fail, 2 success`: how many nodes ended in each status, by status name."""
    counts = Counter(str(node.get("status", "")) for node in nodes)
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def failed_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The nodes that failed, in the order they ran."""
    return [node for node in nodes if node.get("status") in FAILED_STATUSES]
