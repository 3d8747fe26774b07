"""A job's whole life in the UI, in headless Chromium against a real `headwater server`: its
settings edited as YAML (reviewed, saved as a new version), a text with errors refused at
their line:col, a job its bundle locks, a job created from pasted YAML and deleted, and a
viewer offered none of it. Every page is checked for console errors."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, shell, visitor
from tests.web.test_job_editing import deploy_locked


def version_of(server: Server, admin: str, job_id: int) -> int:
    return int(api(server, admin, "GET", f"get?job_id={job_id}")["headwater"]["version"])


def test_edit_a_job_as_yaml_and_see_its_new_version(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {"name": "yaml_edit", "tasks": [
        shell("extract", "echo e"), shell("load", "echo l", "extract")]})
    # Given the job's settings in the YAML editor
    page = ada.goto(f"/jobs/{job_id}")
    page.click("a:text-is('Edit as YAML')")
    editor = page.locator("textarea#settings")
    expect(editor).to_have_value(re.compile(r"^name: yaml_edit\n"))
    # When a third task is written at the end, reviewed and saved
    page.fill("textarea#settings", yaml_with_task_last(editor.input_value()))
    page.click("button:text-is('Review changes')")
    expect(page.locator("h1")).to_contain_text("Edit as YAML: review")
    expect(page.locator("pre.diff .add")).to_contain_text(["task_key: report"])
    ada.shot("edit-as-yaml-review")
    page.click("#save")
    # Then the job's page shows the new version and the new task in its graph
    expect(page.locator("#saved")).to_have_text("Saved as version 2.")
    expect(page.locator("h1 .id")).to_contain_text("version 2")
    expect(page.locator("svg.graph a.node[data-task-key='report']")).to_have_count(1)
    tasks = api(server, admin, "GET", f"get?job_id={job_id}")["settings"]["tasks"]
    assert [t["task_key"] for t in tasks] == ["extract", "load", "report"]


def yaml_with_task_last(text: str) -> str:
    """The editor's text with a task `report` after `load` in its task list (the list is
    followed by the job's other settings)."""
    head, tasks_and_rest = text.split("tasks:\n", 1)
    lines = tasks_and_rest.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if not line.startswith(("-", " ")))
    report = ("- task_key: report\n  depends_on:\n  - task_key: load\n"
              "  shell_command_task:\n    command: echo report\n")
    return head + "tasks:\n" + "".join(lines[:end]) + report + "".join(lines[end:])


def test_a_yaml_error_is_shown_at_its_line_and_column_and_nothing_is_saved(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {"name": "yaml_bad", "tasks": [shell("only", "true")]})
    page = ada.goto(f"/jobs/{job_id}/edit")

    page.fill("textarea#settings", "name: yaml_bad\nmax_concurrent_runs: -1\ntasks:\n"
                                   "  - task_key: only\n    shell_command_task: {command: x}\n"
                                   "    retry_on_timeout: yes\n")
    page.click("button:text-is('Review changes')")

    problems = page.locator("#problems li")
    expect(problems).to_have_text([
        "2:22: max_concurrent_runs: must be >= 0 (got -1)",
        re.compile(r"^6:23: tasks\[0\]\.retry_on_timeout: 'yes' is ambiguous")])
    expect(page.locator("textarea#settings")).to_have_value(re.compile("retry_on_timeout: yes"))
    assert version_of(server, admin, job_id) == 1
    # The browser logged the refusal (400) and nothing else
    assert len(ada.errors) == 1 and "400" in ada.errors[0], ada.errors
    ada.errors.clear()


def test_a_job_its_bundle_locks_shows_no_active_edit_link_and_refuses_a_forged_post(
        ada: Visitor, server: Server, admin: str) -> None:
    job_id = deploy_locked(server, admin, "bundle/shop/dev/browsed")

    page = ada.goto(f"/jobs/{job_id}")

    expect(page.locator("#locked")).to_contain_text(
        "This job is managed by a bundle (deployed from /srv/shop/databricks.yml); change its "
        "files and redeploy")
    expect(page.locator(".locked-links a[aria-disabled=true]")).to_have_text(
        ["Add a task", "Edit schedule", "Edit as YAML", "Delete job…"])
    expect(page.locator(f"a[href^='/jobs/{job_id}/']:is([href$='/edit'], [href$='/delete'], "
                        f"[href$='/schedule'], [href*='/tasks/'])")).to_have_count(0)
    ada.shot("locked-job")
    reply = ada.context.request.post(f"{server.url}/jobs/{job_id}/edit/review", form={
        "settings": "name: changed\n", "csrf_token": ada.csrf()})
    assert reply.status == 409
    assert "managed by a bundle" in reply.text()
    assert version_of(server, admin, job_id) == 1


def test_create_a_job_from_yaml_then_delete_it(ada: Visitor, server: Server) -> None:
    # A job written on the New job page
    page = ada.goto("/jobs")
    page.click("a:text-is('New job')")
    page.fill("textarea#settings", "name: pasted\ntasks:\n  - task_key: hello\n"
                                   "    shell_command_task:\n      command: echo hello\n")
    page.click("button:text-is('Create job')")
    page.wait_for_url(re.compile(r"/jobs/\d+\?saved=1#saved$"))
    expect(page.locator("h1")).to_contain_text("pasted")
    job_id = int(re.search(r"/jobs/(\d+)", page.url)[1])
    # Then deleted, after its confirmation
    page.click("a:text-is('Delete job…')")
    expect(page.locator("h1")).to_have_text("Delete pasted?")
    page.click("#confirm")
    page.wait_for_url(re.compile(rf"/jobs\?deleted={job_id}$"))
    expect(page.locator("#deleted")).to_have_text(f"Job {job_id} was deleted.")
    expect(page.locator(f"table.jobs a[href='/jobs/{job_id}']")).to_have_count(0)


def test_a_viewer_sees_no_edit_or_delete_and_a_forged_post_is_refused(
        browser: Browser, server: Server, admin: str) -> None:
    job_id = create_job(server, admin, {
        "name": "viewed", "tasks": [shell("only", "true")],
        "access_control_list": [{"user_name": "val", "permission_level": "CAN_VIEW"}]})
    with visitor(browser, server, server.token("val")) as val:
        page = val.goto(f"/jobs/{job_id}")
        expect(page.locator("h1")).to_contain_text("viewed")
        expect(page.locator(".edit-links")).to_have_count(0)
        expect(page.locator("a:text-is('Edit as YAML'), a:text-is('Delete job…')")
               ).to_have_count(0)
        token = val.csrf()
        for path, form in ((f"/jobs/{job_id}/edit/review", {"settings": "name: mine\n"}),
                           (f"/jobs/{job_id}/delete", {})):
            reply = val.context.request.post(server.url + path,
                                             form={**form, "csrf_token": token})
            assert reply.status == 403, (path, reply.status)
            assert "does not have permission to manage job" in reply.text()
        assert val.errors == []
    assert version_of(server, admin, job_id) == 1
