"""The web UI in headless Chromium against a real `headwater server`: sign in, start a job
with a parameter and watch it succeed without reloading, read a failed run's error and logs
and repair it, cancel a running run, pause a schedule, a viewer's page, and the API's
`run_page_url`. Every page is checked for console errors."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, expect

from tests.servers import Server
from tests.web.browsing import (
    WAIT_MS,
    Visitor,
    api,
    create_job,
    run_now,
    run_state,
    shell,
    visitor,
    wait_for_state,
)

GREET = {"name": "greet", "parameters": [{"name": "who", "default": "world"}],
         "tasks": [shell("hello", 'echo "hello $WHO"', env={"WHO": "{{job.parameters.who}}"}),
                   shell("bye", "sleep 1; echo bye", "hello")]}
FLAKY = {"name": "flaky", "parameters": [{"name": "fail", "default": "true"}],
         "access_control_list": [{"user_name": "vic", "permission_level": "CAN_VIEW"}],
         "tasks": [shell("extract", "echo extracted"),
                   shell("load", 'echo loading; if [ "$FAIL" = true ]; then '
                                 'echo "the warehouse refused the batch" >&2; exit 3; fi',
                         "extract", env={"FAIL": "{{job.parameters.fail}}"})]}
SLOW = {"name": "slow", "tasks": [shell("wait", "echo waiting; sleep 300")]}
NIGHTLY = {"name": "nightly", "tags": {"team": "data"},
           "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC",
                        "pause_status": "UNPAUSED"},
           "tasks": [shell("noop", "true")]}


@pytest.fixture(scope="module")
def jobs(server: Server, admin: str) -> dict[str, int]:
    return {name: create_job(server, admin, settings)
            for name, settings in (("greet", GREET), ("flaky", FLAKY), ("slow", SLOW),
                                   ("nightly", NIGHTLY))}


def test_start_a_job_with_a_parameter_and_watch_it_succeed_without_reloading(
        ada: Visitor, jobs: dict[str, int]) -> None:
    # Given the jobs list, filtered down to the job
    page = ada.goto("/jobs")
    page.fill("input[name=name]", "gree")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    ada.shot("jobs")
    # When the job is run with a parameter from its page
    page.click("table.jobs a:text-is('greet')")
    page.fill("input[name='param:who']", "Ada")
    page.click("#run-now button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    ada.mark()
    first = page.locator("#run-head").get_attribute("data-state")
    # Then the page follows the run to SUCCESS by itself
    expect(page.locator("#run-head")).to_have_attribute("data-state", "SUCCESS",
                                                         timeout=WAIT_MS)
    assert first in ("PENDING", "QUEUED", "RUNNING")
    assert ada.still_marked()
    expect(page.locator("#row-bye")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("svg.graph a.node[data-task-key='hello']")).to_have_class(
        re.compile("tone-ok"))
    expect(page.locator("#run-head .params")).to_contain_text("who=Ada")
    ada.shot("run-succeeded")
    # And the first task's log says what it printed
    page.click("#row-hello a:text-is('Logs')")
    expect(page.locator("#log")).to_contain_text("hello Ada")


def test_read_a_failed_runs_error_and_logs_then_repair_it(
        ada: Visitor, server: Server, admin: str, jobs: dict[str, int]) -> None:
    # Given a run whose `load` failed
    run_id = run_now(server, admin, jobs["flaky"])
    wait_for_state(server, admin, run_id, "FAILED")
    page = ada.goto(f"/runs/{run_id}")
    expect(page.locator("#row-load")).to_have_attribute("data-state", "FAILED")
    # When the failing task is opened, its error is there
    page.click("#row-load th a")
    panel = page.locator("#task-panel")
    expect(panel.locator("h2")).to_contain_text("load")
    expect(panel.locator(".error-text").first).to_contain_text("the warehouse refused the batch")
    ada.shot("run-failed")
    # And its log, one click away, says why
    panel.locator("a:text-is('View')").first.click()
    expect(page.locator("#log")).to_contain_text("the warehouse refused the batch")
    ada.shot("logs")
    # When it is repaired with the parameter changed
    page.go_back()
    page.click("#repair summary")
    page.fill("#repair input[name='param:fail']", "false")
    ada.shot("repair")
    page.click("#repair-submit")
    page.wait_for_url(re.compile(rf"/runs/{run_id}$"))
    ada.mark()
    # Then the run succeeds, on the same page, with the repair in its history
    expect(page.locator("#run-head")).to_have_attribute("data-state", "SUCCESS",
                                                         timeout=WAIT_MS)
    assert ada.still_marked()
    expect(page.locator("#run-repairs table tbody tr")).to_have_count(2)
    expect(page.locator("#row-load td.num").first).to_have_text("2")
    assert run_state(server, admin, run_id) == "SUCCESS"


def test_a_repair_made_meanwhile_by_someone_else_is_not_repeated(
        ada: Visitor, server: Server, admin: str, jobs: dict[str, int]) -> None:
    run_id = run_now(server, admin, jobs["flaky"])
    wait_for_state(server, admin, run_id, "FAILED")
    # Given the run's page, open at its Repair form
    page = ada.goto(f"/runs/{run_id}")
    page.click("#repair summary")
    # When someone else repairs the run meanwhile (and it fails again)
    api(server, admin, "POST", "runs/repair", {"run_id": run_id, "rerun_all_failed_tasks": True})
    wait_for_state(server, admin, run_id, "FAILED")
    repairs = len(api(server, admin, "GET",
                      f"runs/get?run_id={run_id}&include_history=true")["repair_history"])
    # Then the page's repair is refused, saying why, and not made
    page.click("#repair-submit")
    expect(page.locator(".error-message")).to_contain_text("latest repair")
    after = api(server, admin, "GET", f"runs/get?run_id={run_id}&include_history=true")[
        "repair_history"]
    assert len(after) == repairs
    assert all("400" in e or "409" in e for e in ada.errors), ada.errors
    ada.errors.clear()


def test_cancel_a_running_run(ada: Visitor, server: Server, admin: str,
                              jobs: dict[str, int]) -> None:
    run_id = run_now(server, admin, jobs["slow"])
    page = ada.goto(f"/runs/{run_id}")
    expect(page.locator("#row-wait")).to_have_attribute("data-state", "RUNNING",
                                                        timeout=WAIT_MS)
    expect(page.locator("#row-wait td.num").nth(1)).to_have_text(  # not "0 ms"
        "running", timeout=WAIT_MS)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    expect(page.locator("#run-head")).to_have_attribute("data-state", "CANCELED",
                                                        timeout=WAIT_MS)
    expect(page.locator("#cancel")).to_have_count(0)
    assert run_state(server, admin, run_id) == "CANCELED"


def test_pausing_a_schedule_takes_away_its_next_fire_time(
        ada: Visitor, server: Server, admin: str, jobs: dict[str, int]) -> None:
    page = ada.goto(f"/jobs/{jobs['nightly']}")
    expect(page.locator("time.next-fire")).to_be_visible()
    expect(page.locator("p.timing")).to_contain_text("every day at 02:00 UTC")

    page.click("#timing button:text-is('Pause')")

    expect(page.locator("time.next-fire")).to_have_count(0)
    expect(page.locator(".next-fire-none")).to_contain_text("paused")
    job = api(server, admin, "GET", f"get?job_id={jobs['nightly']}")
    assert job["settings"]["schedule"]["pause_status"] == "PAUSED"
    assert "next_fire_time" not in job["headwater"]
    page.click("#timing button:text-is('Unpause')")
    expect(page.locator("time.next-fire")).to_be_visible()


def test_a_viewer_is_offered_no_run_or_repair_and_a_forged_post_is_refused(
        browser: Browser, server: Server, admin: str, jobs: dict[str, int]) -> None:
    run_id = run_now(server, admin, jobs["flaky"])
    wait_for_state(server, admin, run_id, "FAILED")
    runs_before = api(server, admin, "GET", f"runs/list?job_id={jobs['flaky']}")["runs"]
    with visitor(browser, server, server.token("vic")) as vic:
        # The viewer sees the job and its run, but no button that would change them
        page = vic.goto(f"/jobs/{jobs['flaky']}")
        expect(page.locator("h1")).to_contain_text("flaky")
        expect(page.locator("#run-now")).to_have_count(0)
        expect(page.locator("a:text-is('Add a task')")).to_have_count(0)
        page = vic.goto(f"/runs/{run_id}")
        expect(page.locator("#run-head")).to_have_attribute("data-state", "FAILED")
        expect(page.locator("#repair, #run-again, #cancel")).to_have_count(0)
        expect(page.locator("th:text-is('Logs')")).to_have_count(0)
        # A job the viewer may not see is refused (the browser logs the 403 it got)
        page = vic.goto(f"/jobs/{jobs['greet']}")
        expect(page.locator(".error-message")).to_contain_text("does not have permission")
        vic.wait_for_error("403")
        assert [e for e in vic.errors if "403" not in e] == []
        vic.errors.clear()
        # A POST forged with the viewer's own session and CSRF token is refused
        page = vic.goto(f"/runs/{run_id}")
        token = vic.csrf()
        for path, form in ((f"/jobs/{jobs['flaky']}/run", {}),
                           (f"/runs/{run_id}/repair", {"mode": "failed"}),
                           (f"/runs/{run_id}/run-again", {})):
            reply = vic.context.request.post(server.url + path, form={**form,
                                                                      "csrf_token": token})
            assert reply.status == 403, (path, reply.status)
            assert "does not have permission" in reply.text()
        assert vic.errors == []
    runs_after = api(server, admin, "GET", f"runs/list?job_id={jobs['flaky']}")["runs"]
    assert [r["run_id"] for r in runs_after] == [r["run_id"] for r in runs_before]
    assert run_state(server, admin, run_id) == "FAILED"


def test_run_page_url_from_the_api_opens_the_runs_page(
        browser: Browser, server: Server, admin: str, jobs: dict[str, int]) -> None:
    run_id = run_now(server, admin, jobs["greet"], who="Bo")
    wait_for_state(server, admin, run_id, "SUCCESS")
    document = api(server, admin, "GET", f"runs/get?run_id={run_id}")
    task = next(t for t in document["tasks"] if t["task_key"] == "bye")
    with visitor(browser, server, admin) as found:
        # The run's URL opens its page
        page = found.page
        page.goto(document["run_page_url"])
        expect(page.locator("#run-head h1")).to_contain_text(f"Run {run_id}")
        # A task run's URL opens the same run, at that task
        page.goto(task["run_page_url"])
        expect(page).to_have_url(re.compile(rf"/runs/{run_id}\?task=bye"))
        expect(page.locator("#task-panel h2")).to_contain_text("bye")
        # With the keyboard alone: a task's link in the table opens its panel, which takes
        # the focus
        page.focus("#row-hello th a")
        page.keyboard.press("Enter")
        expect(page.locator("#task-panel h2")).to_contain_text("hello")
        expect(page.locator("#task-panel")).to_be_focused()
        # and "/" on the jobs list jumps to its filter box
        page = found.goto("/jobs")
        page.keyboard.press("/")
        expect(page.locator("input[name=name]")).to_be_focused()
        assert found.errors == []
    # And someone not signed in is asked to sign in, then lands on the run's page
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(document["run_page_url"])
        expect(page).to_have_url(re.compile(r"/signin\?next="))
        page.fill("#token", admin)
        page.click("form[action='/signin'] button[type=submit]")
        expect(page).to_have_url(re.compile(rf"/runs/{run_id}$"))
        expect(page.locator("#run-head h1")).to_contain_text(f"Run {run_id}")
    finally:
        context.close()


def test_a_large_for_each_is_followed_live_and_keeps_where_the_reader_scrolled(
        ada: Visitor, server: Server, admin: str) -> None:
    # A for-each past the size where the page replaces its parts rather than morphing them
    inputs = list(range(400))
    job_id = create_job(server, admin, {"name": "wide", "tasks": [{
        "task_key": "loop", "for_each_task": {
            "inputs": json.dumps(inputs), "concurrency": 16,
            "task": shell("item", "sleep 0.2; echo item $ITEM",
                          env={"ITEM": "{{input}}"})}}]})
    run_id = run_now(server, admin, job_id)
    page = ada.goto(f"/runs/{run_id}?task=loop")
    ada.mark()
    expect(page.locator("#task-panel h2")).to_contain_text("loop")
    # Once the run is large, the page replaces its parts; the reader scrolls the iterations
    expect(page.locator("#run-tasks[data-replace]")).to_have_count(1, timeout=WAIT_MS)
    frame = page.locator("#task-panel .iterations-frame")
    frame.evaluate("frame => { frame.scrollTop = 600; }")
    assert frame.evaluate("frame => frame.scrollTop") == 600
    # Then it follows the run to its end, the reader's scroll kept
    expect(page.locator("#run-head")).to_have_attribute("data-state", "SUCCESS",
                                                         timeout=WAIT_MS)
    expect(page.locator("#row-loop td.num").first).to_have_text("400/400 iterations")
    expect(page.locator("#task-panel tr[id^=iteration-]")).to_have_count(400)
    expect(page.locator("#iteration-399")).to_have_attribute("data-state", "SUCCESS")
    assert ada.still_marked()
    assert frame.evaluate("frame => frame.scrollTop") == 600


def test_the_runs_audit_and_metrics_pages_then_sign_out(
        ada: Visitor, server: Server, admin: str, jobs: dict[str, int]) -> None:
    succeeded = run_now(server, admin, jobs["greet"])
    failed = run_now(server, admin, jobs["flaky"])
    wait_for_state(server, admin, succeeded, "SUCCESS")
    wait_for_state(server, admin, failed, "FAILED")
    # Runs, filtered by job and state
    page = ada.goto("/runs")
    page.select_option("select[name=job_id]", str(jobs["flaky"]))
    page.select_option("select[name=state]", "FAILED")
    page.click("form.filters button[type=submit]")
    expect(page.locator(f"table.runs tr[data-run-id='{failed}']")).to_have_count(1)
    expect(page.locator(f"table.runs tr[data-run-id='{succeeded}']")).to_have_count(0)
    for job_cell in page.locator("table.runs tbody td:nth-child(2)").all_text_contents():
        assert job_cell == "flaky"
    ada.shot("runs")
    # Audit: the run's entries, then the chain verified
    page = ada.goto(f"/audit?run_id={failed}")
    page.select_option("select[name=action]", "run.ended")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    expect(page.locator("table.audit tbody")).to_contain_text("FAILED")
    page.click("button[name=verify]")
    expect(page.locator("#chain-report")).to_contain_text("The hash chain is intact")
    ada.shot("audit")
    # Metrics of a job that always succeeded, with its charts
    page = ada.goto(f"/metrics?job_id={jobs['greet']}")
    expect(page.locator("#success-rate")).to_have_text("100 %")
    expect(page.locator("figure.chart-frame svg").first).to_be_visible()
    ada.shot("metrics")
    # Signing out ends the session: pages ask to sign in again
    page.click("form.who button[type=submit]")
    expect(page).to_have_url(re.compile(r"/signin"))
    page = ada.goto("/jobs")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_an_owner_grants_run_rights_on_the_page_and_the_user_gets_the_run_button(
        browser: Browser, ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {"name": "shared", "tasks": [shell("hi", "echo hi")]})
    bo_token = server.token("bo")
    with visitor(browser, server, bo_token) as bo:
        # Not granted: bo is refused the job's page
        page = bo.goto(f"/jobs/{job_id}")
        expect(page.locator(".error-message")).to_contain_text("does not have permission")
        bo.errors.clear()  # the 403 the browser logged
        # When the owner grants bo CAN_MANAGE_RUN on the job's page
        page = ada.goto(f"/jobs/{job_id}")
        page.fill("input[name=new_name]", "bo")
        page.select_option("select[name=new_level]", "CAN_MANAGE_RUN")
        page.click("button:text-is('Save permissions')")
        expect(page.locator("select[name='level:user:bo']")).to_have_value("CAN_MANAGE_RUN")
        acl = server.call("GET", f"/api/2.0/permissions/jobs/{job_id}", token=admin).body
        assert any(entry.get("user_name") == "bo" and entry["all_permissions"][0]
                   ["permission_level"] == "CAN_MANAGE_RUN"
                   for entry in acl["access_control_list"])
        # Then bo sees the job with its Run now button, but no permissions form
        page = bo.goto(f"/jobs/{job_id}")
        expect(page.locator("#run-now")).to_have_count(1)
        expect(page.locator("button:text-is('Save permissions')")).to_have_count(0)
        assert bo.errors == []


def test_a_bad_edit_is_refused_with_every_problem_named_and_nothing_saved(
        ada: Visitor, server: Server, admin: str, jobs: dict[str, int]) -> None:
    before = api(server, admin, "GET", f"get?job_id={jobs['greet']}")["headwater"]["version"]
    page = ada.goto(f"/jobs/{jobs['greet']}/tasks/hello")
    # The browser's own checks of the number fields are turned off: the server's are tested
    page.evaluate("""() => { for (const input of document.querySelectorAll('input[type=number]'))
                               input.type = 'text';
                             for (const form of document.forms) form.noValidate = true; }""")
    page.fill("#max_retries", "-2")
    page.fill("#timeout", "soon")
    page.click("button:text-is('Review changes')")
    problems = page.locator("#problems li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("max_retries")
    expect(problems.nth(1)).to_contain_text("'soon' is not a number")
    # A dependency that would close a cycle is refused too, naming it
    page = ada.goto(f"/jobs/{jobs['greet']}/tasks/hello")
    page.check("input[name=depends_on][value=bye]")
    page.click("button:text-is('Review changes')")
    expect(page.locator("#problems")).to_contain_text("cycle")
    after = api(server, admin, "GET", f"get?job_id={jobs['greet']}")["headwater"]["version"]
    assert after == before
    # The browser logged the two refusals (400) and nothing else
    assert len(ada.errors) == 2 and all("400" in e for e in ada.errors), ada.errors
    ada.errors.clear()


def test_verifying_an_altered_audit_log_names_the_entry(ada: Visitor, server: Server,
                                                        jobs: dict[str, int]) -> None:
    # Someone with write access to the database rewrites who did the first entry (last test
    # of the module: the chain stays broken)
    with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE entry_id = 1")
    page = ada.goto("/audit")
    page.click("button[name=verify]")
    expect(page.locator("#chain-report")).to_contain_text("TAMPERED")
    expect(page.locator("#chain-report")).to_contain_text("entry 1 does not match")


def test_add_a_task_and_edit_the_schedule_each_saved_as_a_new_version(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {
        "name": "grow", "tasks": [shell("first", "echo first")],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"}})
    # A task added after `first`
    page = ada.goto(f"/jobs/{job_id}")
    page.click("a:text-is('Add a task')")
    page.fill("input[name=task_key]", "second")
    page.select_option("select[name=task_type]", "shell_command_task")
    page.fill("input[name=main]", "echo second")
    page.check("input[name=depends_on][value=first]")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(["task_key: second"])
    page.click("#save")
    expect(page.locator("svg.graph a.node[data-task-key='second']")).to_have_count(1)
    # The schedule moved to 06:30
    page.click("a:text-is('Edit schedule')")
    page.fill("input[name=quartz_cron_expression]", "0 30 6 * * ?")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(["0 30 6 * * ?"])
    page.click("#save")
    expect(page.locator("p.timing")).to_contain_text("every day at 06:30 UTC")
    job = api(server, admin, "GET", f"get?job_id={job_id}")
    assert job["headwater"]["version"] == 3
    second = next(t for t in job["settings"]["tasks"] if t["task_key"] == "second")
    assert second["depends_on"] == [{"task_key": "first"}]
    assert second["shell_command_task"]["command"] == "echo second"
    assert job["settings"]["schedule"]["quartz_cron_expression"] == "0 30 6 * * ?"


def test_a_dbt_task_added_on_the_job_page_runs_its_commands_in_order(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {"name": "transform", "tasks": [shell("first", "true")]})
    page = ada.goto(f"/jobs/{job_id}")
    page.click("a:text-is('Add a task')")
    page.fill("input[name=task_key]", "models")
    page.select_option("select[name=task_type]", "dbt_task")
    page.fill("input[name=main]", "dbt seed")
    page.fill("textarea[name=parameters]", "dbt build --select orders\ndbt test")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(["task_key: models", "- dbt seed"])
    page.click("#save")
    expect(page.locator("svg.graph a.node[data-task-key='models']")).to_have_count(1)
    job = api(server, admin, "GET", f"get?job_id={job_id}")
    models = next(t for t in job["settings"]["tasks"] if t["task_key"] == "models")
    assert models["dbt_task"]["commands"] == ["dbt seed", "dbt build --select orders",
                                              "dbt test"]


def test_a_tasks_alerts_go_to_a_system_destination_set_in_its_editor(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {"name": "hooked", "tasks": [
        shell("load", "true", email_notifications={"on_failure": ["ops@example.com"]})]})
    page = ada.goto(f"/jobs/{job_id}/tasks/load")
    expect(page.locator("input[name='email:on_failure']")).to_have_value("ops@example.com")
    page.fill("input[name='destination:on_failure']", "ops-webhook, data-slack")
    page.fill("input[name='destination:on_start']", "audit-hook")
    page.click("button:text-is('Review changes')")
    # The review shows exactly what changes, and nothing else
    expect(page.locator("pre.diff .add")).to_have_text([
        "+  webhook_notifications:", "+    on_start:", "+    - id: audit-hook",
        "+    on_failure:", "+    - id: ops-webhook", "+    - id: data-slack"])
    expect(page.locator("pre.diff .remove")).to_have_count(0)
    page.click("#save")
    load = api(server, admin, "GET", f"get?job_id={job_id}")["settings"]["tasks"][0]
    assert set_events(load["webhook_notifications"]) == {
        "on_start": [{"id": "audit-hook"}],
        "on_failure": [{"id": "ops-webhook"}, {"id": "data-slack"}]}
    assert set_events(load["email_notifications"]) == {"on_failure": ["ops@example.com"]}
    # Opened again, the editor shows them; emptied, they are gone
    page = ada.goto(f"/jobs/{job_id}/tasks/load")
    expect(page.locator("input[name='destination:on_failure']")).to_have_value(
        "ops-webhook, data-slack")
    page.fill("input[name='destination:on_failure']", "")
    page.fill("input[name='destination:on_start']", "")
    page.click("button:text-is('Review changes')")
    page.click("#save")
    load = api(server, admin, "GET", f"get?job_id={job_id}")["settings"]["tasks"][0]
    assert set_events(load.get("webhook_notifications") or {}) == {}


def set_events(notifications: dict[str, Any]) -> dict[str, Any]:
    """The events that have someone to tell (the API shows the others as empty lists)."""
    return {event: targets for event, targets in notifications.items() if targets}


def test_the_settings_yaml_shows_what_is_set_and_makes_the_same_job_again(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {
        "name": "as_yaml", "max_concurrent_runs": 2,
        "tasks": [shell("extract", "echo e", max_retries=2),
                  shell("load", "echo l", "extract", run_if="ALL_DONE")]})
    page = ada.goto(f"/jobs/{job_id}")
    page.click("summary:has-text('Settings as YAML')")
    shown = page.locator("pre#settings-yaml")
    expect(shown).to_contain_text("name: as_yaml")
    text = shown.inner_text()
    # The fields that are set, name first as in a job file; no empty defaults
    assert text.startswith("name: as_yaml\n"), text
    assert "[]" not in text and "{}" not in text, text
    assert "ALL_SUCCESS" not in text and "timeout_seconds" not in text, text  # jobs/get's
    # And the downloaded text is a job's settings: created again, the same job
    downloaded = page.request.get(f"{server.url}/jobs/{job_id}/settings.yaml").text()
    assert downloaded.strip() == text.strip()
    again = create_job(server, admin, yaml.safe_load(downloaded))
    assert (api(server, admin, "GET", f"get?job_id={again}")["settings"]
            == api(server, admin, "GET", f"get?job_id={job_id}")["settings"])
