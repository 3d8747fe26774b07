"""`headwater runs logs --host` shows every task's log, a notebook's too (the Jobs API's
`runs/get-output` has none for a notebook): through `/api/2.2/headwater/runs/logs`, which
takes `CAN_MANAGE_RUN` as the web UI's log page does. A real server process, real tasks."""

from __future__ import annotations

from pathlib import Path

from tests.servers import Server

from .conftest import Cli
from .test_client import client_env

BUNDLE = """\
bundle:
  name: notes
resources:
  jobs:
    notes:
      name: notes
      permissions:
        - {level: CAN_VIEW, user_name: bob}
      tasks:
        - task_key: greet
          notebook_task: {notebook_path: greet.py}
        - task_key: broken
          depends_on: [{task_key: greet}]
          notebook_task: {notebook_path: broken.py}
targets:
  dev: {default: true}
"""


def test_a_notebook_s_log_and_a_failed_one_s_trace_come_through_a_server(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    alice, bob = client_env(server, server.token("alice")), client_env(server, server.token("bob"))
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    (tmp_path / "greet.py").write_text("# Databricks notebook source\nprint('hello from a cell')\n")
    (tmp_path / "broken.py").write_text("# Databricks notebook source\nraise ValueError('bad row')\n")

    ran = hw("run", "databricks.yml", extra_env=alice, cwd=tmp_path)
    run_id = ran.stdout.split("Run ")[-1].split()[0]
    greet = hw("runs", "logs", run_id, "greet", extra_env=alice, cwd=tmp_path)
    broken = hw("runs", "logs", run_id, "broken", extra_env=alice, cwd=tmp_path)
    viewer = hw("runs", "logs", run_id, "greet", extra_env=bob, cwd=tmp_path)

    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert greet.returncode == 0, greet.stderr
    assert greet.stdout == "hello from a cell\n"
    assert broken.returncode == 0, broken.stderr
    assert "ValueError: bad row" in broken.stdout
    # Reading logs takes CAN_MANAGE_RUN: a viewer is refused, saying so.
    assert viewer.returncode != 0
    assert "CAN_MANAGE_RUN" in viewer.stderr, viewer.stderr
