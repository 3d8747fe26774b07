"""A partial run started from the job's page in the browser: "Run only some tasks" runs the
task named and what follows it, the run's page says so and draws only those tasks, and a key
that names no task is refused with the task meant. A run's legacy task parameters show on its
page too."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, shell, wait_for_state


def test_run_only_some_tasks_from_the_job_page(ada: Visitor, server: Server, admin: str
                                               ) -> None:
    # Given a job of three tasks in a row
    job_id = create_job(server, admin, {"name": "chain", "tasks": [
        shell("extract", "true"), shell("clean", "true", "extract"),
        shell("load", "true", "clean")]})

    # When it is run from its page with only "clean+"
    page = ada.goto(f"/jobs/{job_id}")
    page.locator("#run-now .only-tasks summary").click()
    page.locator("#run-now input[name=only]").fill("clean+")
    page.locator("#run-now").get_by_role("button", name="Run now").click()

    # Then the run's page says it is partial, and its graph has clean and load only
    page.wait_for_url(re.compile(r".*/runs/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    wait_for_state(server, admin, run_id, "SUCCESS")
    page = ada.goto(f"/runs/{run_id}")
    expect(page.locator("#run-head .partial-run")).to_contain_text("Partial run of clean, load")
    nodes = page.locator("svg.graph a.node")
    expect(nodes.first).to_be_visible()
    assert sorted(set(nodes.evaluate_all("els => els.map(e => e.dataset.taskKey)"))) == [
        "clean", "load"]

    # And a key that names no task is refused, naming the task meant
    page = ada.goto(f"/jobs/{job_id}")
    page.locator("#run-now .only-tasks summary").click()
    page.locator("#run-now input[name=only]").fill("laod")
    page.locator("#run-now").get_by_role("button", name="Run now").click()
    expect(page.locator(".error-message")).to_contain_text(
        "no task 'laod' in this job (did you mean 'load'?)")
    ada.wait_for_error("400")
    ada.errors.clear()  # the refusal the browser logged


def test_a_run_s_legacy_task_parameters_show_on_its_page(ada: Visitor, server: Server,
                                                         admin: str, tmp_path: Path) -> None:
    script = tmp_path / "argv.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    job_id = create_job(server, admin, {"name": "script", "tasks": [
        {"task_key": "report", "spark_python_task": {"python_file": str(script)}}]})

    run_id = int(api(server, admin, "POST", "run-now", {
        "job_id": job_id, "python_params": ["--day", "2026-11-30"]})["run_id"])
    wait_for_state(server, admin, run_id, "SUCCESS")

    page = ada.goto(f"/runs/{run_id}")
    expect(page.locator("#run-head .task-parameters")).to_contain_text(
        'python_params ["--day", "2026-11-30"]')
