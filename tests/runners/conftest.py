"""Shared builders for the runner tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from headwater.ports import TaskContext

ContextFactory = Callable[..., TaskContext]


@pytest.fixture
def make_context(tmp_path: Path) -> ContextFactory:
    def make(parameters: dict[str, str] | None = None, workdir: Path | None = None) -> TaskContext:
        return TaskContext(
            run_id=41, task_run_id=4102, task_key="load", attempt_number=2, job_id=7,
            job_name="nightly etl", workdir=workdir or tmp_path,
            log_path=tmp_path / "logs" / "load-2.log", parameters=parameters or {},
        )

    return make
