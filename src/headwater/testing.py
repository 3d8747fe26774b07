"""Testing helpers: what-if simulations of a job for users' own test suites, and fakes for
headwater's tests.

For a job's own tests (stable, documented; see docs/guide/what-if.md):

    from headwater.testing import simulate_job, simulate_failures

    def test_a_failed_validation_skips_the_report_and_alerts():
        run = simulate_job("databricks.yml", target="dev", fail=["validation"])
        assert run.task("report").result_state == "UPSTREAM_FAILED"
        assert run.task("alert_on_failure").result_state == "SUCCESS"
        assert run.result_state == "FAILED"

`simulate_job` runs the job's real plan through the real `decide` on a simulated clock, with
every attempt succeeding unless the scenario says otherwise, and returns what a real run would
show (`SimulatedRun`); nothing runs and nothing is stored. `simulate_failures` fails each task
in turn (`FailureCase`: what did not run, which handler ran, who was alerted).

For headwater's own tests: `simulate` (the discrete-event simulation, `core/simulation.py`),
and `FakeClock`, `FakeExecutor` (like httpx's `MockTransport`: a handler says how each
attempt ends) and `FakeRunner`, which let the engine and the service be tested in-process, in
milliseconds, against the real SQLite store: time moves only when the executor waits, and
jumps to the next exit. Several executors may share one `FakeAttempts`, as engines share a
machine's processes, so that one engine can adopt what another launched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from headwater.core.load import load_file, settings_from_body
from headwater.core.simulation import T0, Script, ScriptedWorld, Simulation, World, replay, simulate
from headwater.core.spec import JobSettings, Task
from headwater.core.whatif import simulate_run
from headwater.core.whatif_results import (
    Assumption,
    SimulatedAlert,
    SimulatedAttempt,
    SimulatedRun,
    SimulatedTask,
)
from headwater.core.whatif_scenario import Scenario, ScenarioError
from headwater.core.whatif_sweep import FailureCase, every_failure
from headwater.ports import AttemptKey, LaunchSpec, TaskContext, TaskExit

__all__ = [
    "T0",
    "Assumption",
    "FailureCase",
    "FakeAttempt",
    "FakeAttempts",
    "FakeClock",
    "FakeExecutor",
    "FakeRunner",
    "Handler",
    "Outcome",
    "Scenario",
    "ScenarioError",
    "Script",
    "ScriptedWorld",
    "SimulatedAlert",
    "SimulatedAttempt",
    "SimulatedRun",
    "SimulatedTask",
    "Simulation",
    "World",
    "fake_runners",
    "replay",
    "scenario",
    "simulate",
    "simulate_failures",
    "simulate_job",
]

JobSource = str | os.PathLike[str] | JobSettings | Mapping[str, Any]
Troubles = Iterable[str] | Mapping[str, int]


def simulate_job(
    job: JobSource,
    *,
    target: str | None = None,
    job_name: str | None = None,
    variables: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
    fail: Troubles = (),
    timeout: Troubles = (),
    outcomes: Mapping[str, bool | str] | None = None,
    iterations: Mapping[str, int] | None = None,
    fail_iterations: Mapping[str, Iterable[int]] | None = None,
    durations: Mapping[str, float | timedelta] | None = None,
    cancel_at: str | None = None,
) -> SimulatedRun:
    """What a run of `job` would show if the tasks named fail, time out or are cancelled.

    Nothing runs and nothing is stored: the job's plan goes through headwater's real state
    machine on a simulated clock, every attempt succeeding at once unless told otherwise.

    Args:
        job: a job file (a bundle's `databricks.yml` or a `jobs/create` JSON body), the JSON
            body as a dict, or `JobSettings`.
        target: the bundle target to apply (default: the one marked `default: true`).
        job_name: which job of a file that defines several (resource key or name).
        variables: bundle variables, as `--var` sets them.
        parameters: job parameter values for this run, as `--param` sets them.
        fail: tasks whose every attempt fails (so their retries show), or a mapping from a
            task to how many of its first attempts fail. A for-each fails every iteration.
        timeout: tasks whose attempts hang until their `timeout_seconds` (or the job's)
            stops them; a mapping says how many of the first attempts do.
        outcomes: the branch a condition task takes (True/"true" or False/"false"); needed
            only when its operands hold task values or other things known only at run time.
        iterations: how many iterations a for-each runs, when its inputs are not literal.
        fail_iterations: for-each task -> the indexes of the iterations that fail.
        durations: how long each attempt of a task takes (seconds or a timedelta; default 0).
        cancel_at: cancel the run the moment this task starts.

    Returns:
        The `SimulatedRun`: `.task(key)` (attempts, `result_state`, `state_message`), the
        run's `result_state` and `state_message`, `alerts`, `assumptions`, `wall_time`.

    Raises:
        SpecError: the job file is invalid.
        ScenarioError: the scenario names what the job does not have (every problem at once).
    """
    chosen = scenario(parameters=parameters, fail=fail, timeout=timeout, outcomes=outcomes,
                      iterations=iterations, fail_iterations=fail_iterations,
                      durations=durations, cancel_at=cancel_at)
    return simulate_run(load_job(job, target, job_name, variables), chosen)


def simulate_failures(
    job: JobSource,
    *,
    target: str | None = None,
    job_name: str | None = None,
    variables: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
    outcomes: Mapping[str, bool | str] | None = None,
    iterations: Mapping[str, int] | None = None,
) -> tuple[FailureCase, ...]:
    """Each task failing in turn (after all its retries): one `FailureCase` per task, with
    `not_run`, `handlers`, `failure_alerts` and `handled`. Arguments as `simulate_job`'s."""
    chosen = scenario(parameters=parameters, outcomes=outcomes, iterations=iterations)
    return every_failure(load_job(job, target, job_name, variables), chosen)


def scenario(
    *,
    parameters: Mapping[str, str] | None = None,
    fail: Troubles = (),
    timeout: Troubles = (),
    outcomes: Mapping[str, bool | str] | None = None,
    iterations: Mapping[str, int] | None = None,
    fail_iterations: Mapping[str, Iterable[int]] | None = None,
    durations: Mapping[str, float | timedelta] | None = None,
    cancel_at: str | None = None,
) -> Scenario:
    """A `Scenario` from the friendlier arguments of `simulate_job`."""
    return Scenario(
        fail=_troubles(fail), timeout=_troubles(timeout),
        outcomes={key: _branch(key, value) for key, value in (outcomes or {}).items()},
        iterations=dict(iterations or {}),
        fail_iterations={key: dict.fromkeys(indexes) for key, indexes
                         in (fail_iterations or {}).items()},
        durations={key: value if isinstance(value, timedelta) else timedelta(seconds=value)
                   for key, value in (durations or {}).items()},
        cancel_at=cancel_at, parameters=dict(parameters or {}))


def load_job(job: JobSource, target: str | None = None, job_name: str | None = None,
             variables: Mapping[str, str] | None = None, user: str = "local") -> JobSettings:
    """The settings of `job`: a file, a JSON body, or settings already.

    Raises:
        SpecError: the file or body is invalid.
        ValueError: the file defines no job, or several and `job_name` names none of them.
    """
    if isinstance(job, JobSettings):
        return job
    if isinstance(job, Mapping):
        return settings_from_body(dict(job))
    found = load_file(Path(job), target, variables, user)
    chosen = [j for j in found if job_name in (None, j.resource_name, j.settings.name)]
    if len(chosen) != 1:
        names = ", ".join(j.resource_name for j in found) or "none"
        what = f"no job {job_name!r}" if job_name else f"{len(found)} jobs, not one"
        raise ValueError(f"{job}: {what} (its jobs: {names}); pass job_name=")
    return chosen[0].settings


def _troubles(value: Troubles) -> dict[str, int | None]:
    if isinstance(value, Mapping):
        return {str(key): int(count) for key, count in value.items()}
    if isinstance(value, str):
        return {value: None}  # one task key, not its letters
    return dict.fromkeys(value)


def _branch(key: str, value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"outcomes[{key!r}]: {value!r} is not a branch: use True/\"true\" or "
                     f"False/\"false\"")


# -- fakes for the engine and the service --------------------------------------------------


class FakeClock:
    """A clock that moves only when told to (or when a `FakeExecutor` waits)."""

    def __init__(self, start: datetime = T0) -> None:
        self.instant = start

    def now(self) -> datetime:
        return self.instant

    def advance(self, seconds: float) -> None:
        self.instant += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a fake attempt ends: after `seconds`, with an exit code (or never: `hang`)."""

    exit_code: int = 0
    seconds: float = 1.0
    values: Mapping[str, object] | None = None  # task values it sets
    metrics: Mapping[str, float] | None = None  # figures it records
    result: Mapping[str, object] = field(default_factory=dict)  # its result.json
    hang: bool = False  # runs until killed


Handler = Callable[[AttemptKey, LaunchSpec], Outcome]


@dataclass
class FakeAttempt:
    """One attempt in the fake machine: when it ends, and how."""

    key: AttemptKey
    spec: LaunchSpec
    outcome: Outcome
    started: datetime
    ends: datetime | None  # None: hangs until killed
    signal: int | None = None


@dataclass
class FakeAttempts:
    """The attempts of a fake machine, shared by the executors of several engines."""

    launched: dict[AttemptKey, FakeAttempt] = field(default_factory=dict)
    most_at_once: int = 0

    def running(self, now: datetime) -> int:
        return sum(1 for a in self.launched.values() if a.ends is None or a.ends > now)


class FakeExecutor:
    """An executor that runs nothing: `handler(key, spec)` says how each attempt ends.

    Implements `headwater.ports.Executor`. `wait` moves the clock forward to the next exit
    (or by its timeout), so simulated seconds pass in microseconds.
    """

    def __init__(self, clock: FakeClock, handler: Handler | None = None,
                 attempts: FakeAttempts | None = None) -> None:
        self.clock = clock
        self.handler: Handler = handler or (lambda key, spec: Outcome())
        self.attempts = attempts if attempts is not None else FakeAttempts()
        self.watched: set[AttemptKey] = set()

    def launch(self, key: AttemptKey, spec: LaunchSpec) -> str:
        if key not in self.attempts.launched:
            outcome = self.handler(key, spec)
            now = self.clock.now()
            ends = None if outcome.hang else now + timedelta(seconds=outcome.seconds)
            self.attempts.launched[key] = FakeAttempt(key, spec, outcome, now, ends)
            self.attempts.most_at_once = max(self.attempts.most_at_once,
                                             self.attempts.running(now))
        self.watched.add(key)
        return f"fake:{key.run_id}:{key.seq}"

    def adopt(self, key: AttemptKey, handle: str | None, attempt_dir: Path) -> str | None:
        if key not in self.attempts.launched:
            return None
        self.watched.add(key)
        return f"fake:{key.run_id}:{key.seq}"

    def kill(self, key: AttemptKey, grace_seconds: float) -> None:
        attempt = self.attempts.launched.get(key)
        now = self.clock.now()
        if attempt is not None and (attempt.ends is None or attempt.ends > now):
            attempt.ends, attempt.signal = now + timedelta(milliseconds=10), 15

    def release(self, key: AttemptKey) -> None:
        self.watched.discard(key)

    def running(self) -> int:
        return len(self.watched)

    def close(self) -> None:
        self.watched.clear()

    def wait(self, timeout: float) -> list[TaskExit]:
        now = self.clock.now()
        ends = [a.ends for k in self.watched
                if (a := self.attempts.launched[k]).ends is not None]
        due = min(ends, default=None)
        limit = now + timedelta(seconds=timeout)
        if due is None or due > limit:
            self.clock.instant = max(now, limit)
            return []
        self.clock.instant = max(now, due)
        return self.collect()

    def collect(self) -> list[TaskExit]:
        """The exits of watched attempts that have ended by now."""
        now = self.clock.now()
        exits = []
        for key in sorted(self.watched, key=lambda k: (k.run_id, k.seq)):
            attempt = self.attempts.launched[key]
            if attempt.ends is not None and attempt.ends <= now:
                self.watched.discard(key)
                exits.append(_exit(attempt))
        return exits


def _exit(attempt: FakeAttempt) -> TaskExit:
    outcome = attempt.outcome
    values = "".join(json.dumps({"key": k, "value": v}) + "\n"
                     for k, v in (outcome.values or {}).items())
    metrics = "".join(json.dumps({"name": k, "value": v}) + "\n"
                      for k, v in (outcome.metrics or {}).items())
    if attempt.signal is not None:
        return TaskExit(attempt.key, None, attempt.signal, attempt.ends)
    return TaskExit(attempt.key, outcome.exit_code, None, attempt.ends, values=values or None,
                    metrics=metrics or None, result=outcome.result)


class FakeRunner:
    """A runner for every task type that builds a launch of `true`: the executor is fake."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        return LaunchSpec(argv=["true", task.task_key], env={}, cwd=context.workdir,
                          log_path=context.log_path)


def fake_runners() -> dict[str, FakeRunner]:
    """A `FakeRunner` under every task type that runs a process."""
    kinds = ("notebook_task", "spark_python_task", "python_wheel_task", "sql_task", "dbt_task",
             "shell_command_task", "python_operator_task", "run_job_task")
    return dict.fromkeys(kinds, FakeRunner())
