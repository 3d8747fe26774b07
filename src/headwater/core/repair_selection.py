"""Which tasks a repair reruns (Lakeflow's `runs/repair`): the tasks asked, the tasks
downstream of them that did not succeed (all of them with `rerun_dependent_tasks`), and the
tasks added to the job since the run. The engine reruns exactly these (`RunStep.repair`), and
the CLI names them before it follows the repair, so nothing reruns unannounced."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from headwater.core.plan import Plan
from headwater.core.states import ResultState

SUCCEEDED = (ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES)


@dataclass(frozen=True, slots=True)
class RepairSelection:
    """The tasks a repair reruns, by why (each in the plan's order): asked, downstream of
    them, new to the job."""

    asked: tuple[str, ...]
    downstream: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def tasks(self) -> frozenset[str]:
        return frozenset((*self.asked, *self.downstream, *self.added))


def repair_selection(plan: Plan, results: Mapping[str, ResultState | None],
                     asked: Collection[str], rerun_dependents: bool) -> RepairSelection:
    """What a repair of `asked` reruns in a run whose tasks' latest attempts ended with
    `results` (task key -> result), under `plan` (the job's current settings)."""
    keys = set(asked) & set(plan.tasks)
    below = plan.downstream_closure(keys)
    if not rerun_dependents:
        below = {k for k in below if k not in results or results[k] not in SUCCEEDED}
    added = {k for k in plan.tasks if k not in results} - keys

    def ordered(chosen: set[str]) -> tuple[str, ...]:
        return tuple(k for k in plan.order if k in chosen)

    return RepairSelection(ordered(keys), ordered(below - added), ordered(added))


__all__ = ["SUCCEEDED", "RepairSelection", "repair_selection"]
