"""Errors a user can act on (issue 16): a failed script names its exception, a failed for-each
names the iteration and its input, and the CLI shows where to look next."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .conftest import Cli
from .test_run import run_document, run_id_of

JOB = """
resources:
  jobs:
    errors:
      tasks:
        - task_key: script
          spark_python_task: {python_file: fail.py, parameters: ["x"]}
        - task_key: loop
          for_each_task:
            inputs: '["ok", "bad", "fine"]'
            task:
              task_key: loop_iteration
              spark_python_task: {python_file: item.py, parameters: ["{{input}}"]}
"""
FAIL = """
import sys
print("starting")
raise ValueError(f"bad input {sys.argv[1]}")
"""
ITEM = """
import sys
if sys.argv[1] == "bad":
    raise RuntimeError(f"no good: {sys.argv[1]}")
print("fine", sys.argv[1])
"""


def failed_run(hw: Cli, tmp_path: Path) -> int:
    for name, text in (("job.yml", JOB), ("fail.py", FAIL), ("item.py", ITEM)):
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    result = hw("run", "job.yml")
    assert result.returncode == 1, result.stdout + result.stderr
    return run_id_of(result.stdout)


def test_a_failed_script_reports_its_exception_and_its_trace(hw: Cli, tmp_path: Path) -> None:
    run = failed_run(hw, tmp_path)

    tasks = {t["task_key"]: t for t in run_document(hw, run)["tasks"]}
    assert tasks["script"]["state"]["state_message"] == "ValueError: bad input x"
    output = json.loads(hw("runs", "output", str(tasks["script"]["run_id"]), "--json",
                           check=True).stdout)
    assert output["error"] == "ValueError: bad input x"
    assert "Traceback (most recent call last)" in output["error_trace"]
    assert 'fail.py", line 3' in output["error_trace"]


def test_a_failed_iteration_is_named_with_its_index_and_input(hw: Cli, tmp_path: Path) -> None:
    run = failed_run(hw, tmp_path)

    loop = next(t for t in run_document(hw, run)["tasks"] if t["task_key"] == "loop")
    assert loop["state"]["state_message"] == (
        '1 of 3 iterations failed: iteration 1 (input "bad"): RuntimeError: no good: bad.')
    shown = hw("runs", "get", str(run), check=True).stdout
    assert (f"iteration 1: FAILED RuntimeError: no good: bad  (headwater runs logs {run} loop "
            "--iteration 1)") in shown
    assert "iteration 0" not in shown and "iteration 2" not in shown

    logs = hw("runs", "logs", str(run), "loop")
    assert logs.returncode != 0
    assert ("'loop' is a for-each task: each of its 3 iterations has its own log; pick one with "
            "--iteration N (0 to 2); the failed ones: 1") in logs.stderr
    assert "RuntimeError: no good: bad" in hw("runs", "logs", str(run), "loop", "--iteration",
                                              "1", check=True).stdout
    nested = hw("runs", "logs", str(run), "loop_iteration")  # the iterations' task, by its key
    assert nested.returncode != 0
    assert (f"Run {run} has no task 'loop_iteration': it is the task each iteration of the "
            f"for-each task 'loop' runs; `headwater runs logs {run} loop --iteration N` shows "
            "iteration N's log") in nested.stderr
    # and so with --iteration, and the id of a task run for a job run's says which to give
    by_nested_key = hw("runs", "logs", str(run), "loop_iteration", "--iteration", "1")
    assert "it is the task each iteration of the for-each task 'loop' runs" in \
        by_nested_key.stderr, by_nested_key.stderr
    task_run = loop["run_id"]
    by_task_run = hw("runs", "logs", str(task_run), "loop", "--iteration", "1")
    assert (f"Run {task_run} is a task run of run {run} (task 'loop'); a log is asked of a "
            f"job run and a task: `headwater runs logs {run} loop`") in by_task_run.stderr


def test_runs_list_has_a_header_and_a_missing_run_is_named(hw: Cli, tmp_path: Path) -> None:
    run = failed_run(hw, tmp_path)

    header, first = hw("runs", "list", check=True).stdout.splitlines()[:2]
    assert header.split() == ["RUN", "ID", "JOB", "STATE", "RESULT", "STARTED"]
    assert first.split()[0] == str(run)
    missing = hw("runs", "get", "999")
    assert missing.returncode != 0 and "Run 999 does not exist" in missing.stderr
    # A list with nothing in it says which store it read (one per folder by default)
    (tmp_path / "elsewhere").mkdir()
    empty = hw("runs", "list", "--active-only", check=True, cwd=tmp_path / "elsewhere")
    assert empty.stdout == ""
    assert empty.stderr.strip() == \
        f"No active runs in sqlite:///{tmp_path / 'elsewhere' / '.headwater' / 'headwater.db'}."


def test_repair_rows_line_up_with_the_others_in_runs_get(hw: Cli, tmp_path: Path) -> None:
    run = failed_run(hw, tmp_path)
    (tmp_path / "fail.py").write_text("print('fixed')\n")
    (tmp_path / "item.py").write_text("print('fixed')\n")
    hw("runs", "repair", str(run), "--all-failed", check=True)

    rows = [line for line in hw("runs", "get", str(run), check=True).stdout.splitlines()
            if " attempt " in line and not line.lstrip().startswith("iteration")]

    assert any("repair 1" in row for row in rows) and any("repair" not in row for row in rows)
    assert len({row.index(" attempt ") for row in rows}) == 1, "\n".join(rows)


def test_a_bad_headwater_yml_is_reported_before_anything_starts(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text(textwrap.dedent(JOB).lstrip())
    config = tmp_path / "headwater.yml"
    config.write_text("smtp:\n  host: mail.example.com\n  port: many\n")

    result = hw("run", "job.yml")

    assert result.returncode == 1
    assert f"{config}:3:9: smtp.port: Input should be a valid integer" in result.stderr
    assert "Run " not in result.stdout  # no run started, and no job deployed
    assert not (tmp_path / ".headwater" / "headwater.db").exists()


def test_runs_help_lists_every_subcommand(hw: Cli) -> None:
    from headwater.cli.runs import runs

    shown = hw("runs", "--help", check=True).stdout.split("Commands:")[1]
    listed = [line.split()[0] for line in shown.splitlines() if line.startswith("  ")]
    visible = sorted(name for name, command in runs.commands.items() if not command.hidden)
    assert listed == visible and {"get", "list", "logs", "output", "repair"} <= set(listed)


def test_a_store_url_of_another_dialect_name_says_what_to_write(hw: Cli) -> None:
    listed = hw("runs", "list", "--db", "postgres://ann:pw@127.0.0.1/etl")

    assert listed.returncode == 1
    assert listed.stderr.startswith("error: cannot open the state store postgres://ann:***@")
    assert "postgresql+psycopg://user@host/database" in listed.stderr
    assert "Traceback" not in listed.stderr


def test_the_log_of_a_task_that_did_not_run_says_why_it_is_empty(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"name": "gated", "tasks": [
        {"task_key": "gate", "condition_task": {"op": "EQUAL_TO", "left": "a", "right": "b"}},
        {"task_key": "publish", "depends_on": [{"task_key": "gate", "outcome": "true"}],
         "shell_command_task": {"command": "echo published"}},
        {"task_key": "quiet", "shell_command_task": {"command": "true"}}]}))
    run = run_id_of(hw("run", "job.json", check=True).stdout)

    excluded = hw("runs", "logs", str(run), "publish", check=True)
    quiet = hw("runs", "logs", str(run), "quiet", check=True)

    assert excluded.stderr.strip() == (
        "(no output: publish did not run: EXCLUDED - Task was excluded: the condition 'gate' "
        "took the other branch.)")
    assert quiet.stderr.strip().startswith("(no output: the attempt printed nothing")


def test_cancel_all_names_the_runs_and_says_when_no_engine_will_act(
        hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "long.json").write_text(json.dumps({
        "name": "long", "queue": {"enabled": True},
        "tasks": [{"task_key": "t", "shell_command_task": {"command": "sleep 30"}}]}))
    job = hw("jobs", "create", "long.json", check=True).stdout.strip()
    first = hw("jobs", "run-now", job, check=True).stdout.strip()  # no engine: it waits
    queued = hw("jobs", "run-now", job, check=True).stdout.strip()  # behind it, in the queue

    cancelled = hw("runs", "cancel-all", "--job-id", job, check=True)

    assert cancelled.stdout.splitlines() == [
        f"Cancel requested for 2 runs of job {job}: {queued}, {first}.",
        f"No engine drives run {first} now: the cancel waits for one, and any task running "
        f"meanwhile goes on; start `headwater engine`, or `headwater runs resume {first}`."]
