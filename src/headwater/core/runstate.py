"""The state of one job run as the core sees it: the run's own state and its task runs.

Every attempt of a task, and every iteration of a for-each, is its own `TaskRun`, as in the
Jobs API where each has its own run id. Inside the core a task run is named by `seq`, a number
local to the run; the store maps `(run, seq)` to the global run id users see, so that the core
never needs an id generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter

from headwater.core.plan import Plan, PlannedTask
from headwater.core.states import LifeCycleState, ResultState, TerminationCode


@dataclass(frozen=True, slots=True)
class LoopProgress:
    """How far a for-each got: iterations started, finished for good, and failed."""

    total: int
    started: int = 0
    done: int = 0
    failed: int = 0

    @property
    def active(self) -> int:
        return self.started - self.done


@dataclass(frozen=True, slots=True)
class Repair:
    """One entry of `repair_history` after the original run: which tasks it reran."""

    number: int  # 1 for the first repair
    repair_id: int  # the id users pass as `latest_repair_id`
    start_time: datetime
    end_time: datetime | None = None
    result: ResultState | None = None
    task_keys: tuple[str, ...] = ()
    # The job version the attempts before this repair ran (so that they read as they ran);
    # None for repairs stored before headwater kept it.
    previous_version: int | None = None


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One attempt of one task (or of one for-each iteration) inside a job run."""

    seq: int  # local id of this task run within its job run
    task_key: str
    attempt_number: int  # 0 for the first attempt, as in the Jobs API
    life_cycle: LifeCycleState
    result: ResultState | None = None
    message: str = ""
    original_attempt_seq: int = 0  # seq of the first attempt of the same task
    pending_since: datetime | None = None  # when it became ready to start
    start_time: datetime | None = None  # when its process started
    end_time: datetime | None = None
    handle: str | None = None  # the executor's name for the live process (pid and start)
    exit_code: int | None = None
    stop_reason: ResultState | None = None  # TIMEDOUT or CANCELED once a kill was ordered
    condition_outcome: str | None = None  # "true"/"false" for a condition_task
    iteration: int | None = None  # index in the for-each inputs, for iterations
    parent_seq: int | None = None  # the for-each task run an iteration belongs to
    repair: int = 0  # 0 for the original run, n for the n-th repair
    resolved: str | None = None  # JSON: the attempt's parameters after references resolved
    values: str | None = None  # JSON object: the task values the attempt set
    inputs: str | None = None  # JSON array: a for-each's resolved inputs
    loop: LoopProgress | None = None  # a for-each's iteration counts

    @property
    def is_terminal(self) -> bool:
        return self.life_cycle.is_terminal

    def evolve(self, **changes: object) -> TaskRun:
        """This task run with `changes`: `dataclasses.replace`, in 60% of its time (the core
        makes a new task run at every step of every attempt).

        Raises:
            TypeError: when a change names no field.
        """
        values = list(_task_run_values(self))
        for name, value in changes.items():
            index = _TASK_RUN_INDEX.get(name)
            if index is None:
                raise TypeError(f"TaskRun has no field {name!r}")
            values[index] = value
        return TaskRun(*values)


_TASK_RUN_INDEX = {item.name: index for index, item in enumerate(fields(TaskRun))}
_task_run_values = attrgetter(*_TASK_RUN_INDEX)


def planned_task_of(plan: Plan, runs: Mapping[int, TaskRun], run: TaskRun) -> PlannedTask:
    """The planned task a task run runs: for an iteration, its for-each's nested task."""
    if run.parent_seq is None:
        return plan.tasks[run.task_key]
    nested = plan.tasks[runs[run.parent_seq].task_key].nested
    assert nested is not None
    return nested


@dataclass(frozen=True, slots=True)
class RunState:
    """A job run: its life cycle, its result once terminal, and all its task runs.

    `latest` maps each task key to the seq of its newest attempt; older attempts stay in
    `task_runs` so that every attempt remains visible.
    """

    plan: Plan
    life_cycle: LifeCycleState = LifeCycleState.PENDING
    result: ResultState | None = None
    message: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    task_runs: dict[int, TaskRun] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)
    next_seq: int = 1
    cancel_requested: bool = False
    timed_out: bool = False
    repairs: tuple[Repair, ...] = ()
    original_end_time: datetime | None = None  # when the run first ended, before repairs
    # Why a run never ran, when its result alone does not say (a full job queue).
    termination_code: TerminationCode | None = None

    @property
    def is_terminal(self) -> bool:
        return self.life_cycle.is_terminal

    def task_of(self, run: TaskRun) -> PlannedTask:
        """The planned task `run` runs (see `planned_task_of`)."""
        return planned_task_of(self.plan, self.task_runs, run)

    def latest_run(self, task_key: str) -> TaskRun | None:
        seq = self.latest.get(task_key)
        return None if seq is None else self.task_runs[seq]

    @property
    def repair_count(self) -> int:
        return len(self.repairs)

    def iterations(self, parent_seq: int) -> list[TaskRun]:
        """Every attempt of every iteration of a for-each task run, by iteration."""
        return sorted(
            (r for r in self.task_runs.values() if r.parent_seq == parent_seq),
            key=lambda r: (r.iteration or 0, r.attempt_number),
        )

    def attempts(self, task_key: str) -> list[TaskRun]:
        """Every attempt of a task, oldest first."""
        return sorted(
            (r for r in self.task_runs.values() if r.task_key == task_key and r.iteration is None),
            key=lambda r: r.seq,
        )
