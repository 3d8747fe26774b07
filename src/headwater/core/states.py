"""Run and task states, mirroring Lakeflow's legacy `RunState` and the newer `RunStatus`.

headwater keeps one internal state per task run (a `LifeCycleState` plus, once terminal, a
`ResultState`) and derives both wire shapes from it (`legacy_state`, `status`), as the
reference recommends: the SDK waiters read only the legacy shape, the UI the newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LifeCycleState(StrEnum):
    """Where a run or task run is in its life (Jobs API `RunLifeCycleState`)."""

    QUEUED = "QUEUED"  # a job run waiting for a concurrency slot
    PENDING = "PENDING"  # ready to start: waiting for a free slot or being launched
    RUNNING = "RUNNING"  # its process is executing
    TERMINATING = "TERMINATING"  # done executing, cleaning up
    TERMINATED = "TERMINATED"  # finished; `ResultState` says how
    SKIPPED = "SKIPPED"  # a job run that never ran (concurrency limit without queueing)
    INTERNAL_ERROR = "INTERNAL_ERROR"  # terminal; also what a failed multi-task job run reports
    BLOCKED = "BLOCKED"  # a task waiting on its upstream dependencies
    WAITING_FOR_RETRY = "WAITING_FOR_RETRY"  # a task between two attempts

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_LIFE_CYCLES


_TERMINAL_LIFE_CYCLES = frozenset(
    {LifeCycleState.TERMINATED, LifeCycleState.SKIPPED, LifeCycleState.INTERNAL_ERROR}
)


class ResultState(StrEnum):
    """How a terminal run or task run ended (Jobs API `RunResultState`)."""

    SUCCESS = "SUCCESS"  # it ran and succeeded
    SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"  # job runs: a task failed, every leaf succeeded
    FAILED = "FAILED"  # it ran and failed (non-zero exit, exception, lost process)
    TIMEDOUT = "TIMEDOUT"  # stopped after reaching its `timeout_seconds`
    CANCELED = "CANCELED"  # cancelled by a user (or the job timeout for its tasks)
    MAXIMUM_CONCURRENT_RUNS_REACHED = "MAXIMUM_CONCURRENT_RUNS_REACHED"  # job run skipped
    EXCLUDED = "EXCLUDED"  # not run: its conditions were not met; counts as success
    UPSTREAM_FAILED = "UPSTREAM_FAILED"  # not run: a dependency failed
    UPSTREAM_CANCELED = "UPSTREAM_CANCELED"  # not run: a dependency was cancelled
    DISABLED = "DISABLED"  # not run: disabled in the job, or downstream of a disabled task

    @property
    def is_success(self) -> bool:
        """Counts as successful for dependants and for the job result (`EXCLUDED` does)."""
        return self in _SUCCESSFUL

    @property
    def ran(self) -> bool:
        """The task actually executed (as opposed to being skipped)."""
        return self in _RAN


_SUCCESSFUL = frozenset(
    {ResultState.SUCCESS, ResultState.SUCCESS_WITH_FAILURES, ResultState.EXCLUDED}
)
_RAN = frozenset(
    {
        ResultState.SUCCESS,
        ResultState.SUCCESS_WITH_FAILURES,
        ResultState.FAILED,
        ResultState.TIMEDOUT,
        ResultState.CANCELED,
    }
)


class StatusState(StrEnum):
    """The newer `status.state` (`RunLifecycleStateV2State`): no SKIPPED or INTERNAL_ERROR."""

    BLOCKED = "BLOCKED"
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    WAITING = "WAITING"


class TerminationCode(StrEnum):
    """`status.termination_details.code` values headwater produces."""

    SUCCESS = "SUCCESS"
    SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"
    USER_CANCELED = "USER_CANCELED"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"
    DISABLED = "DISABLED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    RUN_EXECUTION_ERROR = "RUN_EXECUTION_ERROR"
    MAX_CONCURRENT_RUNS_EXCEEDED = "MAX_CONCURRENT_RUNS_EXCEEDED"
    MAX_JOB_QUEUE_SIZE_EXCEEDED = "MAX_JOB_QUEUE_SIZE_EXCEEDED"
    INVALID_RUN_CONFIGURATION = "INVALID_RUN_CONFIGURATION"


class TerminationType(StrEnum):
    """`status.termination_details.type`."""

    SUCCESS = "SUCCESS"
    CLIENT_ERROR = "CLIENT_ERROR"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    CLOUD_FAILURE = "CLOUD_FAILURE"


@dataclass(frozen=True, slots=True)
class Status:
    """The newer `status` shape of a run or task run."""

    state: StatusState
    code: TerminationCode | None = None
    type: TerminationType | None = None
    message: str = ""


_STATUS_OF_LIFE_CYCLE = {
    LifeCycleState.QUEUED: StatusState.QUEUED,
    LifeCycleState.PENDING: StatusState.PENDING,
    LifeCycleState.RUNNING: StatusState.RUNNING,
    LifeCycleState.TERMINATING: StatusState.TERMINATING,
    LifeCycleState.BLOCKED: StatusState.BLOCKED,
    LifeCycleState.WAITING_FOR_RETRY: StatusState.WAITING,
    LifeCycleState.TERMINATED: StatusState.TERMINATED,
    LifeCycleState.SKIPPED: StatusState.TERMINATED,
    LifeCycleState.INTERNAL_ERROR: StatusState.TERMINATED,
}

_TERMINATION_OF_RESULT: dict[ResultState, tuple[TerminationCode, TerminationType]] = {
    ResultState.SUCCESS: (TerminationCode.SUCCESS, TerminationType.SUCCESS),
    ResultState.SUCCESS_WITH_FAILURES: (
        TerminationCode.SUCCESS_WITH_FAILURES,
        TerminationType.SUCCESS,
    ),
    ResultState.FAILED: (TerminationCode.RUN_EXECUTION_ERROR, TerminationType.CLIENT_ERROR),
    ResultState.TIMEDOUT: (TerminationCode.CANCELED, TerminationType.CLIENT_ERROR),
    ResultState.CANCELED: (TerminationCode.USER_CANCELED, TerminationType.SUCCESS),
    ResultState.MAXIMUM_CONCURRENT_RUNS_REACHED: (
        TerminationCode.MAX_CONCURRENT_RUNS_EXCEEDED,
        TerminationType.CLIENT_ERROR,
    ),
    ResultState.EXCLUDED: (TerminationCode.SKIPPED, TerminationType.SUCCESS),
    ResultState.UPSTREAM_FAILED: (TerminationCode.SKIPPED, TerminationType.CLIENT_ERROR),
    ResultState.UPSTREAM_CANCELED: (TerminationCode.SKIPPED, TerminationType.SUCCESS),
    ResultState.DISABLED: (TerminationCode.DISABLED, TerminationType.SUCCESS),
}


def status_of(
    life_cycle: LifeCycleState, result: ResultState | None, message: str = "",
    termination_code: TerminationCode | None = None,
) -> Status:
    """Derive the newer `status` shape from the legacy pair.

    `termination_code` names the code when the pair alone cannot tell it: a run skipped
    because the job's queue was full (`MAX_JOB_QUEUE_SIZE_EXCEEDED`), a run an engine error
    stopped (`INTERNAL_ERROR`).
    """
    state = _STATUS_OF_LIFE_CYCLE[life_cycle]
    if result is None or state is not StatusState.TERMINATED:
        return Status(state)
    code, kind = _TERMINATION_OF_RESULT[result]
    code = termination_code or code
    if code is TerminationCode.INTERNAL_ERROR or (
            life_cycle is LifeCycleState.INTERNAL_ERROR and result is not ResultState.FAILED):
        code, kind = TerminationCode.INTERNAL_ERROR, TerminationType.INTERNAL_ERROR
    return Status(state, code, kind, message)


# Legal moves of a task run's life cycle; everything else raises `IllegalTransition`.
# Terminal states are absorbing: they appear on no left-hand side.
LEGAL_TRANSITIONS: dict[LifeCycleState, frozenset[LifeCycleState]] = {
    LifeCycleState.BLOCKED: frozenset(
        {LifeCycleState.PENDING, LifeCycleState.TERMINATED}
    ),
    LifeCycleState.PENDING: frozenset(
        {LifeCycleState.RUNNING, LifeCycleState.TERMINATED, LifeCycleState.INTERNAL_ERROR}
    ),
    LifeCycleState.RUNNING: frozenset(
        {
            LifeCycleState.TERMINATING,
            LifeCycleState.TERMINATED,
            LifeCycleState.INTERNAL_ERROR,
        }
    ),
    LifeCycleState.TERMINATING: frozenset(
        {LifeCycleState.TERMINATED, LifeCycleState.INTERNAL_ERROR}
    ),
    LifeCycleState.WAITING_FOR_RETRY: frozenset(
        {LifeCycleState.PENDING, LifeCycleState.TERMINATED}
    ),
    LifeCycleState.QUEUED: frozenset(
        {LifeCycleState.PENDING, LifeCycleState.RUNNING, LifeCycleState.TERMINATED,
         LifeCycleState.SKIPPED}
    ),
}


def is_legal(source: LifeCycleState, target: LifeCycleState) -> bool:
    """True when a task run may move from `source` to `target`."""
    return target in LEGAL_TRANSITIONS.get(source, frozenset())
