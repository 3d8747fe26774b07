"""The composition root: the only module that picks adapters and wires them together."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from headwater.config import Settings, load_config
from headwater.engine.run_driver import Engine
from headwater.executors.local import LocalExecutor
from headwater.notify.outbox import start_sender
from headwater.runners import runners_by_type
from headwater.service import Service
from headwater.store import open_store


class SystemClock:
    """The real clock: aware UTC instants."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@contextmanager
def application(settings: Settings, drives_runs: bool = False) -> Iterator[Service]:
    """A service over the configured store and a local executor, closed on exit.

    Only a process that drives runs (`drives_runs`) delivers alerts, with the configuration
    it finds; a command that only reads the store never touches the outbox.
    """
    store = open_store(settings.db_url)
    executor = LocalExecutor()
    clock = SystemClock()
    sender = start_sender(store, load_config(os.environ, Path.cwd()), clock, os.environ) \
        if drives_runs else None
    try:
        runners = runners_by_type(home=settings.home, db_url=settings.db_url,
                                  run_job_chain=settings.run_job_chain)
        engine = Engine(store, executor, runners, clock, settings.logs_dir,
                        settings.max_parallel, settings.user)
        yield Service(store, engine, clock, settings.user, settings.logs_dir,
                      settings.home / "locks")
    finally:
        executor.close()
        if sender is not None:
            sender.stop(drain_seconds=10)
        store.close()
