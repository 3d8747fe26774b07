"""Real engines for end-to-end tests: `headwater engine` processes on one store, jobs whose
tasks write a ledger, and the checks the service-core study asks for.

Every task appends one line to the ledger when it has done its work:
`run_id task_key attempt pid start_ns end_ns`. From it the checks are mechanical: each
task of each run did its work exactly once, and no two attempts of one task overlapped.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.bootstrap import application
from headwater.config import Settings
from tests.child_env import child_env

LEASE_SECONDS = 3  # short, so that takeovers happen within a test's patience

# The ledger line is written after the work (the sleep), with the work's start and end.
LEDGER_TASK = ('start=$(date +%s%N); sleep {seconds}; '
               'echo "$HEADWATER_RUN_ID $HEADWATER_TASK_KEY $HEADWATER_ATTEMPT $$ $start '
               '$(date +%s%N)" >> {ledger}')


def clean_env(**extra: str) -> dict[str, str]:
    env = child_env()
    return {**env, "HEADWATER_LEASE_SECONDS": str(LEASE_SECONDS), **extra}


def ledger_job(path: Path, ledger: Path, tasks: int, seconds: float = 0.1,
               fan: bool = True, **settings: Any) -> Path:
    """A job of `tasks` ledger-writing tasks: one first task, the rest after it (`fan`) or a
    chain; each task sleeps `seconds`."""
    command = LEDGER_TASK.format(seconds=seconds, ledger=ledger)
    body = {"name": settings.pop("name", path.stem), "tasks": [
        {"task_key": f"t{i:02d}", "shell_command_task": {"command": command},
         "depends_on": [] if i == 0 else [{"task_key": "t00" if fan else f"t{i - 1:02d}"}]}
        for i in range(tasks)], **settings}
    path.write_text(json.dumps(body))
    return path


@dataclass
class EngineProcess:
    """One `headwater engine` process and the name it holds leases under."""

    process: subprocess.Popen[str]
    name: str
    log: Path

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Signal the engine's process group (the engine and its spawner, not the tasks:
        every attempt runs in a session of its own)."""
        os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@dataclass
class Cluster:
    """Engines on one store, run from `workdir`."""

    workdir: Path
    db_url: str
    engines: list[EngineProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # more variables for every process

    def cli(self, *args: str, check: bool = True, timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "headwater", *args, "--db", self.db_url],
                                cwd=self.workdir, env=clean_env(**self.env), capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"headwater {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def start_engine(self, max_parallel: int = 8, prefix: Sequence[str] = (),
                     env: dict[str, str] | None = None) -> EngineProcess:
        """A new engine; `prefix` goes before the command (such as `setpriv` options), `env`
        are more variables for it alone."""
        log = self.workdir / f"engine-{len(self.engines)}.log"
        handle = log.open("w")
        process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "headwater", "engine", "--db", self.db_url,
             "--max-parallel", str(max_parallel)],
            cwd=self.workdir, env=clean_env(**self.env, **(env or {})), stdout=handle,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        handle.close()
        name = _engine_name(log, process)
        engine = EngineProcess(process, name, log)
        self.engines.append(engine)
        return engine

    def stop_all(self) -> None:
        for engine in self.engines:
            if engine.process.poll() is None:
                engine.kill()
                engine.process.wait(30)

    def run_document(self, run_id: int) -> dict[str, Any]:
        """The run's `Run` document, read in this process (a CLI per poll would be slow)."""
        settings = Settings.from_env(clean_env(**self.env), self.workdir, db=self.db_url)
        with application(settings) as app:
            return app.service.run_document(run_id)

    def wait_ended(self, run_ids: list[int], timeout: float = 240) -> dict[int, dict[str, Any]]:
        """Wait until every run has ended; their `Run` documents."""
        deadline = time.monotonic() + timeout
        pending = set(run_ids)
        documents: dict[int, dict[str, Any]] = {}
        while pending:
            if time.monotonic() > deadline:
                logs = "\n".join(e.log.read_text()[-3000:] for e in self.engines)
                raise AssertionError(f"runs {sorted(pending)} did not end in {timeout}s\n{logs}")
            for run_id in sorted(pending):
                document = self.run_document(run_id)
                if document["state"]["life_cycle_state"] in ("TERMINATED", "SKIPPED",
                                                             "INTERNAL_ERROR"):
                    documents[run_id] = document
                    pending.discard(run_id)
            time.sleep(0.5)
        return documents


def _engine_name(log: Path, process: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"engine (\S+) started", log.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"the engine exited {process.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"the engine never said it started:\n{log.read_text()}")


@dataclass(frozen=True)
class Entry:
    run_id: int
    task_key: str
    attempt: int
    pid: int
    start_ns: int
    end_ns: int


def read_ledger(ledger: Path) -> list[Entry]:
    entries = []
    for line in ledger.read_text().splitlines():
        run_id, task_key, attempt, pid, start, end = line.split()
        entries.append(Entry(int(run_id), task_key, int(attempt), int(pid), int(start),
                             int(end)))
    return entries


def check_exactly_once(entries: list[Entry], runs: list[int], tasks: int) -> None:
    """Every task of every run did its work exactly once."""
    seen: dict[tuple[int, str], int] = defaultdict(int)
    for entry in entries:
        seen[(entry.run_id, entry.task_key)] += 1
    wanted = {(run_id, f"t{i:02d}") for run_id in runs for i in range(tasks)}
    missing = wanted - set(seen)
    twice = {key: count for key, count in seen.items() if count > 1}
    assert not missing, f"never ran: {sorted(missing)[:10]}"
    assert not twice, f"ran more than once: {sorted(twice.items())[:10]}"
    assert set(seen) <= wanted


def check_no_overlap(entries: list[Entry]) -> None:
    """No two attempts of one task ran at the same moment."""
    by_task: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        by_task[(entry.run_id, entry.task_key)].append(entry)
    for key, attempts in by_task.items():
        ordered = sorted(attempts, key=lambda e: e.start_ns)
        for before, after in itertools.pairwise(ordered):
            assert before.end_ns <= after.start_ns, f"attempts of {key} overlapped: {ordered}"
