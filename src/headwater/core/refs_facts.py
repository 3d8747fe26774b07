"""What `{{tasks.<key>...}}` and `{{task.execution_count}}` see of a run: each task's latest
attempt. Shared by the engine (which knows the task runs' ids) and the simulation (which
does not), so that both resolve these references alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from headwater.core.refs import TaskFacts
from headwater.core.runstate import RunState, TaskRun

# A SQL attempt's `sql_output` by its seq (None when it left none): the engine reads the store.
SqlOutputs = Callable[[int], Mapping[str, Any] | None]


def task_facts(state: RunState, ids: Mapping[int, int],
               sql_outputs: SqlOutputs | None = None) -> Mapping[str, TaskFacts]:
    """Each task's latest attempt; `ids` maps seqs to run ids (0 for a seq it lacks), and
    `sql_outputs` gives a SQL task's output (none without it: a simulation has none).

    Read on demand: a launch resolves the references of one task, which name a few others,
    and a run may have thousands of tasks."""
    return _Facts(state, ids, sql_outputs)


class _Facts(Mapping[str, TaskFacts]):
    def __init__(self, state: RunState, ids: Mapping[int, int],
                 sql_outputs: SqlOutputs | None) -> None:
        self.state, self.ids, self.sql_outputs = state, ids, sql_outputs
        self.known: dict[str, TaskFacts] = {}

    def __getitem__(self, key: str) -> TaskFacts:
        if key not in self.known:
            self.known[key] = _facts(self.state, self.ids, self.state.latest[key],
                                     self.sql_outputs)
        return self.known[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.state.latest)

    def __len__(self) -> int:
        return len(self.state.latest)


def _facts(state: RunState, ids: Mapping[int, int], seq: int,
           sql_outputs: SqlOutputs | None) -> TaskFacts:
    run = state.task_runs[seq]
    values = json.loads(run.values) if run.values else {}
    is_sql = state.task_of(run).spec.sql_task is not None
    return TaskFacts(
        run_id=ids.get(seq, 0),
        result_state=str(run.result) if run.result else None,
        error_code=_error_code(run),
        execution_count=execution_count(state, run),
        values={name: json.dumps(value) for name, value in values.items()},
        sql_output=sql_outputs(seq) if is_sql and sql_outputs is not None else None,
        is_sql=is_sql,
    )


def _error_code(run: TaskRun) -> str | None:
    if run.result is None or run.result.is_success:
        return None
    return str(run.result)


def execution_count(state: RunState, run: TaskRun) -> int:
    """How many times a task ran up to `run`: retries and earlier repairs included."""
    earlier = 0
    if run.repair:  # only repaired runs need a scan of the history
        earlier = sum(1 for r in state.task_runs.values()
                      if r.task_key == run.task_key and r.iteration == run.iteration
                      and r.repair < run.repair)
    return earlier + run.attempt_number + 1


__all__ = ["SqlOutputs", "execution_count", "task_facts"]
