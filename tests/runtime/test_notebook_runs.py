"""headwater.runtime.notebook_runs and process_groups: which notebook `dbutils.notebook.run`
finds, what it refuses, and which processes make up the tree it kills (the runs themselves
are in tests/e2e/test_notebook_run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.runtime import dbutils
from headwater.runtime.notebook_runs import find_notebook
from headwater.runtime.process_groups import ProcessRow, tree_members


@pytest.fixture
def job(tmp_path: Path) -> Path:
    """A job directory with notebooks in two folders."""
    (tmp_path / "etl").mkdir()
    for name in ("etl/ingest.py", "etl/report.ipynb", "etl/both", "etl/both.py", "top.sql"):
        (tmp_path / name).write_text("# Databricks notebook source\n")
    return tmp_path


@pytest.mark.parametrize(("written", "expected"), [
    ("ingest", "etl/ingest.py"),  # a workspace path has no suffix
    ("report", "etl/report.ipynb"),
    ("./ingest.py", "etl/ingest.py"),
    ("both", "etl/both"),  # the path as written comes first
    ("../top", "top.sql"),  # up, but still inside the job
])
def test_a_relative_path_starts_from_the_calling_notebooks_folder(
        job: Path, written: str, expected: str) -> None:
    environ = {"HEADWATER_NOTEBOOK_DIR": str(job / "etl"), "HEADWATER_JOB_DIR": str(job)}
    assert find_notebook(written, environ) == job / expected


def test_an_absolute_path_is_taken_as_written(job: Path) -> None:
    environ = {"HEADWATER_NOTEBOOK_DIR": str(job / "etl"), "HEADWATER_JOB_DIR": str(job / "etl")}
    assert find_notebook(str(job / "top"), environ) == job / "top.sql"


def test_a_workspace_path_names_the_notebook_in_the_workspace_folder(
        job: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "Shared").mkdir()
    (workspace / "Shared" / "child.py").write_text("# Databricks notebook source\n")
    environ = {"HEADWATER_NOTEBOOK_DIR": str(job / "etl"), "HEADWATER_JOB_DIR": str(job),
               "HEADWATER_WORKSPACE_DIR": str(workspace)}
    assert find_notebook("/Workspace/Shared/child", environ) == workspace / "Shared" / "child.py"


def test_a_relative_path_may_not_leave_the_job_directory(job: Path) -> None:
    environ = {"HEADWATER_NOTEBOOK_DIR": str(job / "etl"), "HEADWATER_JOB_DIR": str(job / "etl")}
    with pytest.raises(ValueError, match=r"'\.\./top'\): .* is outside the job directory"):
        find_notebook("../top", environ)


def test_a_missing_notebook_names_the_paths_tried_and_where_they_start(job: Path) -> None:
    environ = {"HEADWATER_NOTEBOOK_DIR": str(job / "etl"), "HEADWATER_JOB_DIR": str(job)}
    with pytest.raises(FileNotFoundError) as raised:
        find_notebook("nope", environ)
    message = str(raised.value)
    assert f"{job / 'etl' / 'nope.ipynb'}" in message
    assert f"starts from the calling notebook's folder '{job / 'etl'}'" in message


@pytest.mark.parametrize("timeout", [-1, "60", True])
def test_a_timeout_that_is_not_seconds_is_refused_before_anything_runs(
        job: Path, monkeypatch: pytest.MonkeyPatch, timeout: object) -> None:
    monkeypatch.setenv("HEADWATER_NOTEBOOK_DIR", str(job / "etl"))
    with pytest.raises(ValueError, match="timeout_seconds must be a number of seconds, 0 for"):
        dbutils.notebook.run("ingest", timeout)  # type: ignore[arg-type]


def test_the_tree_is_the_session_and_everything_below_it() -> None:
    # Given the leader 10 in its session, a kernel 20 that left for a session of its own, what
    # the kernel started, a process of the session reparented away, and unrelated processes
    table = [
        ProcessRow(pid=1, parent=0, group=1, session=1),
        ProcessRow(pid=5, parent=1, group=5, session=5),  # the caller
        ProcessRow(pid=10, parent=5, group=10, session=10),  # the leader
        ProcessRow(pid=11, parent=10, group=10, session=10),
        ProcessRow(pid=20, parent=10, group=20, session=20),  # a kernel: setsid
        ProcessRow(pid=21, parent=20, group=21, session=20),  # its own group
        ProcessRow(pid=30, parent=1, group=10, session=10),  # reparented: still the session
        ProcessRow(pid=31, parent=30, group=31, session=31),  # and below it
        ProcessRow(pid=40, parent=5, group=5, session=5),  # the caller's other child
    ]

    members = tree_members(10, table)

    assert sorted(p.pid for p in members) == [10, 11, 20, 21, 30, 31]
