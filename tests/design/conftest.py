"""Shared fixtures of the design tests: the fixture jobs and the commands under click's runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from headwater.cli.design import describe, lint
from tests.design.code_files import with_its_code

FIXTURES = Path(__file__).parent / "fixtures"
Invoke = Callable[..., Result]


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture job, and the code it runs, into tmp_path (so tests may edit it) and
    return its path."""

    def copy(name: str) -> Path:
        return with_its_code(Path(shutil.copy(FIXTURES / name, tmp_path / name)), name)

    return copy


def _invoke(command: click.Command) -> Invoke:
    def run(*args: str | Path) -> Result:
        runner = CliRunner()
        return runner.invoke(command, [str(arg) for arg in args], catch_exceptions=False)

    return run


@pytest.fixture
def run_lint() -> Invoke:
    return _invoke(lint)


@pytest.fixture
def run_describe() -> Invoke:
    return _invoke(describe)
