"""What a repair keeps of a for-each that partly failed: its iterations that succeeded.

Lakeflow's repair reruns what failed and leaves what succeeded (docs/semantics.md, "Repair");
its documentation does not say how that applies inside a for-each. headwater's choice: when a
repair reruns a for-each whose run before the repair did not succeed, and the loop's inputs are
the same as then, the iterations that succeeded are kept (not rerun) and only the others run.
A for-each that had succeeded (rerun because it was named, or as a dependent), or whose inputs
changed, runs every iteration again: the earlier results may not hold for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from headwater.core.runstate import TaskRun
from headwater.core.states import ResultState

__all__ = ["kept_iterations"]


def kept_iterations(loop: TaskRun, inputs: str, runs: Mapping[int, TaskRun]) -> list[TaskRun]:
    """The latest attempt of each iteration that a repaired for-each `loop` keeps, by index.

    `loop` is the repair's new run of the for-each and `inputs` its resolved inputs; `runs` are
    all task runs of the job run.
    """
    if not loop.repair:
        return []
    earlier = [r for r in runs.values() if r.task_key == loop.task_key and r.parent_seq is None
               and r.iteration is None and r.repair < loop.repair and r.is_terminal]
    if not earlier:
        return []
    before = max(earlier, key=lambda r: r.seq)
    if before.result is ResultState.SUCCESS or before.inputs != inputs:
        return []
    latest: dict[int, TaskRun] = {}
    for run in runs.values():
        if run.parent_seq == before.seq and run.iteration is not None:
            known = latest.get(run.iteration)
            if known is None or run.seq > known.seq:
                latest[run.iteration] = run
    return [latest[i] for i in sorted(latest) if latest[i].result is ResultState.SUCCESS]
