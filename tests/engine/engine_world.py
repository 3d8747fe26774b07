"""An in-process world for engine tests (the `world` fixture is in conftest.py): the real SQLite store on a fake clock, fake attempts.

Engines built here share the store, the clock and the fake machine's attempts, as engines on
one machine share a database and its processes; `step_until` turns their loops by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.core.notifications import UsualDurations
from headwater.core.retention import RetentionPolicy
from headwater.core.spec import JobSettings
from headwater.engine.supervisor import EngineSettings, Supervisor
from headwater.ports import JobRecord
from headwater.service import Service
from headwater.store import SqlStore
from headwater.testing import FakeAttempts, FakeClock, FakeExecutor, Handler, fake_runners


@dataclass
class World:
    """One store, one clock, one machine's attempts; engines made on demand."""

    tmp_path: Path
    clock: FakeClock
    store: SqlStore
    service: Service
    attempts: FakeAttempts = field(default_factory=FakeAttempts)

    def engine(self, name: str, handler: Handler | None = None, *, max_parallel: int = 4,
               lease_seconds: float = 15.0, only: set[int] | None = None,
               is_dead: Callable[[str], bool] = lambda owner: False,
               schedules: bool = False, write_starts_within: float = 0.05,
               retention: RetentionPolicy | None = None,
               usual_durations: UsualDurations | None = None) -> Supervisor:
        settings = EngineSettings(self.tmp_path / "logs", max_parallel, "ann", lease_seconds,
                                  schedules=schedules,
                                  warehouse_commits=(
                                      self.tmp_path / "warehouse.duckdb.commits.jsonl",),
                                  write_starts_within=write_starts_within,
                                  retention=retention, usual_durations=usual_durations)
        executor = FakeExecutor(self.clock, handler, self.attempts)
        return Supervisor(self.store, executor, fake_runners(), self.clock, settings, name,
                          only=only, is_dead=is_dead)

    def job(self, tasks: int = 3, chain: bool = False, **settings: Any) -> JobRecord:
        """A job of `tasks` shell tasks (each after the one before, with `chain`)."""
        body = {"name": settings.pop("name", "job"), "tasks": [
            {"task_key": f"t{i}", "shell_command_task": {"command": "true"},
             "depends_on": [{"task_key": f"t{i - 1}"}] if chain and i else []}
            for i in range(tasks)], **settings}
        return self.service.create_job(JobSettings.model_validate(body))

    def start(self, job: JobRecord) -> int:
        return self.service.start_run(job, {}, self.tmp_path).run_id

    def result(self, run_id: int) -> str | None:
        state = self.store.load_run(run_id).state
        return None if state.result is None else str(state.result)


def step_until(done: Callable[[], bool], *engines: Supervisor, steps: int = 20_000) -> None:
    """Turn the engines' loops in turn until `done()`; fail after `steps` turns."""
    for _ in range(steps):
        if done():
            return
        for engine in engines:
            engine.step()
    raise AssertionError(f"not done after {steps} steps")
