"""`headwater simulate` through the real CLI, and against a real run of the flagship example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from headwater.bootstrap import application
from headwater.config import Settings
from headwater.core.whatif import FAILURE_MESSAGE

from .conftest import Cli, shell, write_job

REPO = Path(__file__).resolve().parents[2]
FLAGSHIP = str(REPO / "examples" / "lf_job_etl_pipeline" / "databricks.yml")
REAL_FAILURE = "Exception: Simulating ingestion failure for retry demo"


def attempts_of(tasks: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """Each task's attempts as (number, life cycle, result, message), from `Run` documents
    (`runs get --json`) or from `simulate --json`, which share the `state` shape."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for task in tasks:
        for attempt in task.get("attempts", [task]):
            state = attempt["state"]
            found.setdefault(task["task_key"], []).append(
                (attempt["attempt_number"], state["life_cycle_state"],
                 state.get("result_state"), state["state_message"]))
    return found


def test_the_flagships_ingestion_failure_simulated_matches_a_real_run_task_for_task(
        hw: Cli, tmp_path: Path) -> None:
    # Given the flagship example, simulated with bronze_ingest failing every attempt
    printed = hw("simulate", FLAGSHIP, "--fail", "bronze_ingest", check=True).stdout
    simulated = json.loads(hw("simulate", FLAGSHIP, "--fail", "bronze_ingest", "--json",
                              check=True).stdout)

    # Then it prints 4 attempts, report UPSTREAM_FAILED, alert_on_failure SUCCESS, the run FAILED
    assert len(re.findall(r"^  bronze_ingest +attempt \d +TERMINATED +FAILED", printed,
                          re.M)) == 4
    assert re.search(r"^  report +attempt 0 +TERMINATED +UPSTREAM_FAILED +- +Upstream task "
                     r"quality_gate did not succeed\.$", printed, re.M)
    assert re.search(r"^  alert_on_failure +attempt 0 +TERMINATED +SUCCESS +3s$", printed, re.M)
    assert "Run: INTERNAL_ERROR FAILED (status TERMINATED, RUN_EXECUTION_ERROR)" in printed
    assert ("on_failure of the run (FAILED) at 3s: e-mail data-oncall@example.com; destination "
            "ops-webhook") in printed
    assert "Simulated wall time: 3s" in printed
    assert not (tmp_path / ".headwater").exists()  # nothing was stored

    # When the job really runs with the Lab's controlled failure
    result = hw("run", FLAGSHIP, "--param", "simulate_failure=true")
    assert result.returncode == 1, result.stdout + result.stderr
    run_id = int(re.search(r"Run (\d+) ended FAILED", result.stdout)[1])  # type: ignore[index]
    real = json.loads(hw("runs", "get", str(run_id), "--json", check=True).stdout)

    # Then every task has the same attempts, states and messages; only the failure's own
    # words differ (the notebook's exception: a simulation cannot know them)
    expected = attempts_of(real["tasks"])
    expected["bronze_ingest"] = [(n, life, result_state, FAILURE_MESSAGE)
                                 for n, life, result_state, message in expected["bronze_ingest"]
                                 if message == REAL_FAILURE]
    assert len(expected["bronze_ingest"]) == 4
    assert attempts_of(simulated["tasks"]) == expected
    assert simulated["state"] == {**real["state"], "state_message": real["state"][
        "state_message"].replace(REAL_FAILURE, FAILURE_MESSAGE)}
    assert simulated["status"]["termination_details"]["code"] == real["status"][
        "termination_details"]["code"]
    # And the same alerts went to the same places
    with application(Settings.from_env({}, tmp_path)) as app:
        sent = {(row["event"], row["payload"].get("task_key"), row["destination"])
                for row in app.service.notifications(run_id, None, 100)}
    assert sent == {(alert["event"], alert["task_key"], target)
                    for alert in simulated["alerts"]
                    for target in [*(f"email:{e}" for e in alert["emails"]),
                                   *alert["destinations"]]}


def test_all_failures_of_the_flagship_are_handled(hw: Cli) -> None:
    printed = hw("simulate", FLAGSHIP, "--all-failures", check=True).stdout
    cases = json.loads(hw("simulate", FLAGSHIP, "--all-failures", "--json", check=True).stdout)

    rows = {line.split()[0]: line for line in printed.splitlines()[2:-1]}
    assert list(rows) == ["generate_raw_data", "bronze_ingest", "transform_silver_orders",
                          "transform_silver_customers", "transform_silver_products",
                          "validation", "quality_gate", "alert_on_failure", "report",
                          "quarantine_batch"]
    assert re.match(r"bronze_ingest +4 +FAILED +alert_on_failure; alert to "
                    r"data-oncall@example.com, ops-webhook +transform_silver_orders, ",
                    rows["bronze_ingest"])
    assert rows["quarantine_batch"].startswith("quarantine_batch (quality_gate=false)  ")
    assert "cannot fail here: it does not run" in rows["alert_on_failure"]
    assert printed.splitlines()[-1].startswith("10 of 10 failures handled")
    assert all(case["handled"] for case in cases["cases"])


def test_a_job_with_an_unheard_failure_says_so(hw: Cli, tmp_path: Path) -> None:
    # Given a job that alerts on failure, and whose leaf is a cleanup that always runs
    job = write_job(tmp_path / "job.json", [shell("extract", "true"),
                                            shell("cleanup", "true", "extract",
                                                  run_if="ALL_DONE")],
                    email_notifications={"on_failure": ["oncall@example.com"]})

    printed = hw("simulate", str(job), "--all-failures", check=True).stdout

    # Then extract's failure ends the run SUCCESS_WITH_FAILURES: no alert, no handler
    assert re.search(r"^extract +1 +SUCCESS_WITH_FAILURES +NOTHING +-$", printed, re.M)
    assert re.search(r"^cleanup +1 +FAILED +alert to oncall@example.com +-$", printed, re.M)
    assert printed.splitlines()[-1].startswith(
        "1 of 2 failures handled; not handled: extract")


def test_each_attempt_shows_when_it_ran_from_start_to_end(hw: Cli, tmp_path: Path) -> None:
    # Given a task whose first attempt hangs until its timeout, and one that takes 5 s after it
    job = write_job(tmp_path / "job.json", [
        shell("slow", "true", timeout_seconds=60, max_retries=1, retry_on_timeout=True),
        shell("after", "true", "slow")])

    printed = hw("simulate", str(job), "--timeout", "slow:1", "--duration", "after=5",
                 check=True).stdout

    # Then the timed-out attempt spans its timeout; a retry that took no time shows its start
    assert re.search(r"^  slow +attempt 0 +TERMINATED +TIMEDOUT +0s-60s  Task timed out", printed,
                     re.M), printed
    assert re.search(r"^  slow +attempt 1 +TERMINATED +SUCCESS +60s$", printed, re.M), printed
    assert re.search(r"^  after +attempt 0 +TERMINATED +SUCCESS +60s-65s$", printed, re.M), printed


def test_a_scenario_that_does_not_fit_the_job_is_refused_with_every_problem(hw: Cli) -> None:
    result = hw("simulate", FLAGSHIP, "--fail", "bronze_ingst:2", "--outcome", "report=true",
                "--fail-iteration", "validation:0", "--param", "simulate_failur=true")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: --fail bronze_ingst: no task 'bronze_ingst' in the job (did you mean "
        "'bronze_ingest'?)",
        "error: --outcome report: not a condition task (it is a notebook_task): only "
        "conditions branch",
        "error: --fail-iteration validation: not a for-each task (it is a notebook_task)",
        "error: --param simulate_failur: unknown job parameter 'simulate_failur' (did you mean "
        "'simulate_failure'?); the job declares: env, landing_dir, simulate_failure. Declare "
        "it in the job's parameters (`parameters:` of its job file, or jobs/update), or leave "
        "it out.",
    ]


def test_a_run_too_long_to_simulate_is_refused(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("poll", "true", max_retries=-1,
                                                  min_retry_interval_millis=1)])

    result = hw("simulate", str(job), "--fail", "poll:1000000000")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the simulated run reached 2,000 attempts (poll was starting attempt 2000) "
        "without ending: fail fewer attempts, or give the job a shorter timeout"]


def test_malformed_options_are_usage_errors(hw: Cli) -> None:
    for args in (["--fail", "bronze_ingest:x"], ["--outcome", "quality_gate=maybe"],
                 ["--fail-iteration", "loop"], ["--all-failures", "--fail", "report"]):
        result = hw("simulate", FLAGSHIP, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Error:" in result.stderr


def test_help_lists_simulate_without_loading_the_simulation() -> None:
    code = ("import sys; from click.testing import CliRunner; "
            "from headwater.cli.main import main; "
            "out = CliRunner().invoke(main, ['--help']).output; "
            "print('simulate' in out, "
            "[m for m in sys.modules if m.startswith(('headwater.core', 'pydantic'))])")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
    assert printed.strip() == "True []"
