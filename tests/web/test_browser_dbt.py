"""A dbt task's run in the browser: its task panel lists each command and what it did to each
model, seed and test, the failed ones marked, with real dbt (dbt-core and dbt-duckdb in the
job's environment) run by a real server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, run_now, wait_for_state

BUILD_SECONDS = 300  # the environment's first build, then dbt itself


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dbt project whose seed holds a duplicate id, which the model's `unique` test refuses."""
    root = tmp_path_factory.mktemp("dbt") / "shop"
    files = {
        "dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\n",
        "seeds/orders.csv": "id,amount\n1,10\n2,20\n2,30\n",
        "models/totals.sql": "select id, sum(amount) as amount from {{ ref('orders') }} "
                             "group by id union all select 2, 0",
        "models/schema.yml": """\
            version: 2
            models:
              - name: totals
                columns:
                  - name: id
                    data_tests: [unique, not_null]
            """,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_a_dbt_tasks_commands_and_nodes_are_in_its_panel(
        ada: Visitor, server: Server, admin: str, project: Path) -> None:
    # Given a run of a dbt task whose second command fails at a test
    job_id = create_job(server, admin, {
        "name": "shop",
        "tasks": [{"task_key": "transform", "environment_key": "dbt", "dbt_task": {
            "project_directory": str(project), "warehouse_id": "local", "schema": "shop",
            "commands": ["dbt seed", "dbt build"]}}],
        "environments": [{"environment_key": "dbt", "spec": {
            "client": "1", "dependencies": ["dbt-core>=1.8,<1.12", "dbt-duckdb>=1.8"]}}]})
    run_id = run_now(server, admin, job_id)
    wait_for_state(server, admin, run_id, "FAILED", timeout=BUILD_SECONDS)

    # When its task is opened
    page = ada.goto(f"/runs/{run_id}?task=transform")
    panel = page.locator("#task-panel")
    expect(panel.locator("h2")).to_contain_text("transform")

    # Then each command is there, the one that failed open, with its nodes' statuses
    commands = panel.locator("details.dbt-command")
    expect(commands).to_have_count(2)
    expect(commands.nth(0)).to_have_attribute("data-success", "true")
    expect(commands.nth(0).locator("summary")).to_contain_text("dbt seed · succeeded in")
    expect(commands.nth(0).locator("summary")).to_contain_text("1 success")
    failed = commands.nth(1)
    expect(failed).to_have_attribute("data-success", "false")
    expect(failed).to_have_attribute("open", "")
    expect(failed.locator("summary")).to_contain_text("dbt build · failed in")
    expect(failed.locator("summary")).to_contain_text("1 fail, 1 pass, 2 success")
    unique = failed.locator("tr[data-status=fail]")
    expect(unique).to_have_count(1)
    expect(unique.locator("td").first).to_contain_text("test.shop.unique_totals_id")
    expect(failed.locator("tr", has_text="seed.shop.orders").locator("td").nth(3)).to_have_text(
        "3")
    # And the error above names the test, as the API does, its trace saying why in full
    expect(panel.locator(".error-text").first).to_contain_text(
        "dbt command 2 of 2 failed: dbt build: test.shop.unique_totals_id")
    expect(panel.locator("pre.trace").first).to_contain_text(
        "Got 1 result, configured to fail if != 0")
    expect(panel.locator("pre.trace").first).not_to_contain_text("Traceback")
    ada.shot("run-dbt")

    # When the task's commands are edited on its page: the failing test is left out of build
    page = ada.goto(f"/jobs/{job_id}/tasks/transform")
    commands_field = page.locator("textarea[name=parameters]")
    expect(page.locator("label", has=commands_field)).to_contain_text("Commands (one a line)")
    expect(commands_field).to_have_value("dbt seed\ndbt build")
    commands_field.fill("dbt seed\ndbt build --exclude unique_totals_id")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(
        ["- dbt build --exclude unique_totals_id"])
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Saved as version 2")
    settings = api(server, admin, "GET", f"get?job_id={job_id}")["settings"]
    assert settings["tasks"][0]["dbt_task"]["commands"] == [
        "dbt seed", "dbt build --exclude unique_totals_id"]

    # Then the next run succeeds, its build without the excluded test
    run_id = run_now(server, admin, job_id)
    wait_for_state(server, admin, run_id, "SUCCESS", timeout=BUILD_SECONDS)
    page = ada.goto(f"/runs/{run_id}?task=transform")
    build = page.locator("#task-panel details.dbt-command").nth(1)
    expect(build).to_have_attribute("data-success", "true")
    expect(build.locator("summary")).to_contain_text("1 pass, 2 success")
