"""What a simulated run shows: the run, every task with its attempts, the alerts, the
assumptions made, and the simulated wall time. Typed, frozen, and `to_dict()` for JSON.

States and messages are those of the real run's `Run` document: `life_cycle_state`,
`result_state` and `state_message` (the legacy `state`), and `status` derived from them by the
same `status_of`. Instants are durations after the run started: a simulation has no date.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from headwater.core.notifications import NotificationEvent
from headwater.core.states import LifeCycleState, ResultState, Status, status_of


@dataclass(frozen=True, slots=True)
class SimulatedAttempt:
    """One attempt of a task, or of one for-each iteration."""

    task_key: str
    attempt_number: int  # 0 for the first, as in the Jobs API
    life_cycle_state: LifeCycleState
    result_state: ResultState | None
    state_message: str
    start: timedelta | None  # after the run started; None when it never ran
    end: timedelta | None
    iteration: int | None = None  # the element's index, for an iteration of a for-each

    @property
    def ran(self) -> bool:
        """Whether it started (a skipped task's single task run never does)."""
        return self.start is not None

    @property
    def status(self) -> Status:
        return status_of(self.life_cycle_state, self.result_state, self.state_message)

    def to_dict(self) -> dict[str, Any]:
        body = {"task_key": self.task_key, "attempt_number": self.attempt_number,
                **_state(self.life_cycle_state, self.result_state, self.state_message),
                "start_seconds": _seconds(self.start), "end_seconds": _seconds(self.end)}
        if self.iteration is not None:
            body["iteration"] = self.iteration
        return body


@dataclass(frozen=True, slots=True)
class SimulatedTask:
    """A task of the job: every attempt, its final state (its latest attempt's), and for a
    condition the branch it took, for a for-each every attempt of every iteration."""

    task_key: str
    attempts: tuple[SimulatedAttempt, ...]
    condition_outcome: str | None = None  # "true"/"false"
    iterations: tuple[SimulatedAttempt, ...] = ()

    @property
    def latest(self) -> SimulatedAttempt:
        return self.attempts[-1]

    @property
    def life_cycle_state(self) -> LifeCycleState:
        return self.latest.life_cycle_state

    @property
    def result_state(self) -> ResultState | None:
        return self.latest.result_state

    @property
    def state_message(self) -> str:
        return self.latest.state_message

    @property
    def status(self) -> Status:
        return self.latest.status

    @property
    def attempt_count(self) -> int:
        """How many attempts ran (0 for a task that was skipped, excluded or disabled)."""
        return sum(attempt.ran for attempt in self.attempts)

    @property
    def ran(self) -> bool:
        return self.attempt_count > 0

    def to_dict(self) -> dict[str, Any]:
        latest = self.latest
        body: dict[str, Any] = {
            "task_key": self.task_key,
            **_state(latest.life_cycle_state, latest.result_state, latest.state_message),
            "attempt_count": self.attempt_count,
            "attempts": [attempt.to_dict() for attempt in self.attempts],
        }
        if self.condition_outcome is not None:
            body["condition_outcome"] = self.condition_outcome
        if self.iterations:
            body["iterations"] = [attempt.to_dict() for attempt in self.iterations]
        return body


@dataclass(frozen=True, slots=True)
class SimulatedAlert:
    """A notification the run would send: which event, about what, and to whom."""

    event: NotificationEvent
    task_key: str | None  # None: about the run (job level); `loop[2]` for an iteration
    attempt_number: int | None
    at: timedelta
    result_state: str | None
    emails: tuple[str, ...]
    destinations: tuple[str, ...]  # ids of webhook (Slack, Teams, ...) destinations

    @property
    def recipients(self) -> str:
        """To whom, in words: `e-mail ops@example.com; destination ops-webhook`."""
        parts = [f"e-mail {', '.join(self.emails)}"] if self.emails else []
        if self.destinations:
            parts.append(f"destination {', '.join(self.destinations)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"event": str(self.event), "task_key": self.task_key,
                "attempt_number": self.attempt_number, "at_seconds": _seconds(self.at),
                "result_state": self.result_state, "emails": list(self.emails),
                "destinations": list(self.destinations)}


@dataclass(frozen=True, slots=True)
class Assumption:
    """Something the simulation could not know and chose: a condition's branch (`outcome`)
    or a for-each's number of iterations (`iterations`), and why it could not know."""

    task_key: str
    kind: str  # "outcome" or "iterations"
    value: str  # "true", "false", or the number of iterations
    because: str

    def __str__(self) -> str:
        chose = (f"takes its {self.value!r} branch" if self.kind == "outcome"
                 else f"runs {self.value} iteration{'s' if self.value != '1' else ''}")
        return f"{self.task_key} {chose}: {self.because}"

    def to_dict(self) -> dict[str, Any]:
        return {"task_key": self.task_key, "kind": self.kind, "value": self.value,
                "because": self.because, "text": str(self)}


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    """What a real run of the job would show in the simulated scenario."""

    job_name: str
    life_cycle_state: LifeCycleState
    result_state: ResultState | None
    state_message: str
    tasks: tuple[SimulatedTask, ...]  # in the plan's order
    alerts: tuple[SimulatedAlert, ...]
    assumptions: tuple[Assumption, ...]
    wall_time: timedelta  # from the run's start to its end
    notes: tuple[str, ...] = ()  # what the scenario asked that did not happen

    @property
    def status(self) -> Status:
        return status_of(self.life_cycle_state, self.result_state, self.state_message)

    def task(self, task_key: str) -> SimulatedTask:
        """The task named `task_key`.

        Raises:
            KeyError: naming the closest task key.
        """
        for task in self.tasks:
            if task.task_key == task_key:
                return task
        keys = [task.task_key for task in self.tasks]
        close = difflib.get_close_matches(task_key, keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"no task {task_key!r} in job {self.job_name!r}{hint}")

    def results(self) -> dict[str, ResultState | None]:
        """Each task's final result, by task key, in the plan's order."""
        return {task.task_key: task.result_state for task in self.tasks}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document, shaped like the Jobs API's `Run` where they overlap."""
        return {
            "job_name": self.job_name,
            **_state(self.life_cycle_state, self.result_state, self.state_message),
            "wall_time_seconds": _seconds(self.wall_time),
            "assumptions": [assumption.to_dict() for assumption in self.assumptions],
            "notes": list(self.notes),
            "tasks": [task.to_dict() for task in self.tasks],
            "alerts": [alert.to_dict() for alert in self.alerts],
        }


def _state(life: LifeCycleState, result: ResultState | None, message: str) -> dict[str, Any]:
    """The legacy `state` and the newer `status`, as the Jobs API shows them."""
    state: dict[str, Any] = {"life_cycle_state": str(life), "state_message": message}
    if result is not None:
        state["result_state"] = str(result)
        state["user_cancelled_or_timedout"] = result in (ResultState.CANCELED,
                                                         ResultState.TIMEDOUT)
    status = status_of(life, result, message)
    details = {"termination_details": {"code": str(status.code), "type": str(status.type),
                                       "message": status.message}} if status.code else {}
    return {"state": state, "status": {"state": str(status.state), **details}}


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


__all__ = ["Assumption", "SimulatedAlert", "SimulatedAttempt", "SimulatedRun", "SimulatedTask"]
