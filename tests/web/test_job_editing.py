"""What the job-editing routes answer, over HTTP against a real `headwater server`: a job's
whole settings edited as YAML (reviewed, then `jobs/reset`), a text with problems refused
with each at its line:col, a job locked by its bundle refused, a job created from pasted
YAML or JSON and one deleted, and every change refused to a viewer and without the CSRF
token."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from tests.servers import Server
from tests.web.browsing import api, create_job, run_now, shell, wait_for_state
from tests.web.page_forms import PageUser, signed_in

EDITED = """\
name: renamed
description: every setting replaced
tasks:
  - task_key: extract
    shell_command_task:
      command: echo extracted
"""


@pytest.fixture(scope="module")
def ada(server: Server, admin: str) -> PageUser:
    return signed_in(server, admin)


@pytest.fixture(scope="module")
def vic(server: Server) -> PageUser:
    return signed_in(server, server.token("vic"))


def job(server: Server, admin: str, job_id: int) -> dict[str, Any]:
    return dict(api(server, admin, "GET", f"get?job_id={job_id}"))


def problems(page: str) -> list[str]:
    return [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>",
                                                 page.split('id="problems"')[1].split("</ul>")[0])]


def two_tasks(server: Server, admin: str, name: str, **fields: Any) -> int:
    return create_job(server, admin, {"name": name, "tasks": [
        shell("extract", "echo e"), shell("load", "echo l", "extract")], **fields})


def test_the_yaml_editor_starts_from_the_settings_of_jobs_get(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "as_got")

    page = ada.get(f"/jobs/{job_id}/edit")

    assert page.status == 200
    text = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S)[1])
    assert text.startswith("name: as_got\n")
    assert "run_if: ALL_SUCCESS" in text and "format: MULTI_TASK" in text  # as jobs/get says
    assert "version" not in text and "deployment_key" not in text  # headwater's own keys


def test_a_reviewed_text_replaces_every_setting_and_keeps_run_as(
        server: Server, admin: str, ada: PageUser) -> None:
    # Given a job that runs as someone else, with two tasks and tags
    job_id = two_tasks(server, admin, "replaced", tags={"team": "data"},
                       run_as={"user_name": "svc"})
    # When a text without `load`, the tags and run_as is reviewed
    review = ada.post(f"/jobs/{job_id}/edit/review", {"settings": EDITED})
    # Then the review shows what goes and what comes, and nothing is saved yet
    assert review.status == 200
    changed = changed_lines(review.text)
    assert ("remove", "-name: replaced") in changed and ("add", "+name: renamed") in changed
    assert ("remove", "-- task_key: load") in changed
    assert ("remove", "-  team: data") in changed
    assert not any("run_as" in text or "svc" in text for _, text in changed)  # it stays
    assert f'action="/jobs/{job_id}/reset"' in review.text
    assert job(server, admin, job_id)["headwater"]["version"] == 1
    # And saving it makes version 2 with every setting replaced but run_as
    saved = ada.post(f"/jobs/{job_id}/reset", {"settings": EDITED, "base_version": "1"})
    assert saved.status == 303
    assert saved.headers["location"] == f"/jobs/{job_id}?saved=2#saved"
    after = job(server, admin, job_id)
    assert after["headwater"]["version"] == 2
    assert [t["task_key"] for t in after["settings"]["tasks"]] == ["extract"]
    assert not after["settings"].get("tags")
    assert after["settings"]["description"] == "every setting replaced"
    assert after["settings"]["run_as"] == {"user_name": "svc"}


def changed_lines(page: str) -> list[tuple[str, str]]:
    """The added and removed lines of a review's diff."""
    return [(kind, html.unescape(text)) for kind, text in
            re.findall(r'<span class="line (add|remove)">(.*?)</span>', page)]


def test_every_problem_of_the_text_is_named_at_its_line_and_column_and_nothing_saved(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "strict")
    text = ("name: strict\n"
            "max_concurrent_runs: -1\n"
            "tasks:\n"
            "  - task_key: extract\n"
            "    shell_command_task: {command: 'true'}\n"
            "    max_retries: lots\n"
            "name: twice\n")

    refused = ada.post(f"/jobs/{job_id}/edit/review", {"settings": text})

    assert refused.status == 400
    assert problems(refused.text) == [
        "2:22: max_concurrent_runs: must be >= 0 (got -1)",
        "6:18: tasks[0].max_retries: must be an integer (got 'lots')",
        "7:1: name: duplicate key 'name' (first at line 1, column 1); keep only one of them"]
    assert "name: twice" in html.unescape(refused.text)  # the text is kept as written
    # A syntax error, and a bad JSON body, each at its place
    broken = ada.post(f"/jobs/{job_id}/edit/review", {"settings": "name: x\ntasks: [\n"})
    assert broken.status == 400
    assert problems(broken.text)[0].startswith("3:1: invalid YAML:")
    # worded as `headwater validate` words it, with how to fix the mistake
    tabbed = ada.post(f"/jobs/{job_id}/edit/review", {"settings": "name: x\n\ttasks: []\n"})
    assert "YAML indents with spaces only" in problems(tabbed.text)[0], problems(tabbed.text)
    trailing = ada.post("/jobs/new", {"settings": '{"name": "x",\n "tasks": [],}'})
    assert problems(trailing.text) == [
        "2:14: invalid JSON: Expecting property name enclosed in double quotes"]
    # A dependency cycle, found once the fields are valid, is named too
    cycle = ("name: strict\ntasks:\n"
             "  - {task_key: a, shell_command_task: {command: x}, depends_on: [{task_key: b}]}\n"
             "  - {task_key: b, shell_command_task: {command: x}, depends_on: [{task_key: a}]}\n")
    [found] = problems(ada.post(f"/jobs/{job_id}/edit/review", {"settings": cycle}).text)
    assert re.match(r"\d+:\d+: tasks\[\d\]\.depends_on.*cycle", found), found
    # Saving a bad text directly is refused the same way
    direct = ada.post(f"/jobs/{job_id}/reset", {"settings": text, "base_version": "1"})
    assert direct.status == 400
    assert job(server, admin, job_id)["headwater"]["version"] == 1


def test_a_text_reviewed_against_an_older_version_is_not_saved(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "moved_on")
    api(server, admin, "POST", "update", {"job_id": job_id, "new_settings": {"tags": {"a": ""}}})

    stale = ada.post(f"/jobs/{job_id}/reset", {"settings": EDITED, "base_version": "1"})

    assert stale.status == 409
    assert "changed since this edit was reviewed" in html.unescape(stale.text)
    assert job(server, admin, job_id)["settings"]["name"] == "moved_on"


LOCKED = {"name": "from_bundle", "edit_mode": "UI_LOCKED",
          "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
          "tasks": [shell("extract", "echo e")]}


def deploy_locked(server: Server, admin: str, key: str) -> int:
    """A job deployed from a bundle's files that lock it, as `headwater deploy` sends it."""
    reply = server.call("POST", "/api/2.2/headwater/deploy", {
        "deployment_key": key, "source": "/srv/shop/databricks.yml", "settings": LOCKED},
        token=admin)
    assert reply.status == 200, reply.text
    return int(reply.body["job_id"])


def test_a_job_its_bundle_locks_offers_no_edit_and_refuses_every_one(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = deploy_locked(server, admin, "bundle/shop/dev/locked")

    page = ada.get(f"/jobs/{job_id}")

    assert ("This job is managed by a bundle (deployed from /srv/shop/databricks.yml); change "
            "its files and redeploy.") in page.text
    for path in ("/edit", "/delete", "/schedule", "/tasks/new", "/tasks/extract"):
        assert f'href="/jobs/{job_id}{path}"' not in page.text
    assert page.text.count('aria-disabled="true"') == 4
    for path, fields in (("/edit/review", {"settings": EDITED}),
                         ("/reset", {"settings": EDITED, "base_version": "1"}),
                         ("/update", {"base_version": "1", "new_settings": '{"name": "x"}'}),
                         ("/tasks/extract/review", {"max_retries": "3"}),
                         ("/tasks/extract/remove", {}),
                         ("/schedule/review", {"quartz_cron_expression": "0 0 3 * * ?"}),
                         ("/delete", {})):
        refused = ada.post(f"/jobs/{job_id}{path}", fields)
        assert refused.status == 409, (path, refused.status)
        assert "managed by a bundle" in refused.text
    assert ada.get(f"/jobs/{job_id}/edit").status == 409
    assert job(server, admin, job_id)["headwater"]["version"] == 1
    # The API may still change it, as Lakeflow's may
    api(server, admin, "POST", "update", {"job_id": job_id,
                                          "new_settings": {"description": "by the API"}})


def test_a_locked_job_disconnected_from_its_bundle_is_edited_again(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = deploy_locked(server, admin, "bundle/shop/dev/disconnected")
    assert ada.get(f"/jobs/{job_id}/disconnect").status == 200

    disconnected = ada.post(f"/jobs/{job_id}/disconnect")

    assert disconnected.status == 303
    assert job(server, admin, job_id)["settings"]["edit_mode"] == "EDITABLE"
    assert f'href="/jobs/{job_id}/edit"' in ada.get(f"/jobs/{job_id}").text
    assert ada.post(f"/jobs/{job_id}/disconnect").status == 400  # not locked any more


def test_a_job_created_from_yaml_or_json_is_owned_by_its_creator(
        server: Server, admin: str) -> None:
    bo = signed_in(server, server.token("bo"))  # no admin: any signed-in user creates jobs
    assert 'href="/jobs/new"' in bo.get("/jobs").text
    assert bo.get("/jobs/new").status == 200

    made = bo.post("/jobs/new", {"settings": "name: bos_job\ntasks:\n  - task_key: hi\n"
                                             "    shell_command_task: {command: echo hi}\n"})
    from_json = bo.post("/jobs/new", {"settings": '{"name": "bos_json",\n\t"tasks": []}'})

    assert made.status == 303 and from_json.status == 303
    job_id = int(re.fullmatch(r"/jobs/(\d+)\?saved=1#saved", made.headers["location"])[1])
    created = job(server, admin, job_id)
    assert created["creator_user_name"] == "bo"
    assert created["settings"]["tasks"][0]["shell_command_task"]["command"] == "echo hi"
    grants = server.call("GET", f"/api/2.0/permissions/jobs/{job_id}", token=admin).body
    owners = [entry.get("user_name") for entry in grants["access_control_list"]
              if entry["all_permissions"][0]["permission_level"] == "IS_OWNER"]
    assert owners == ["bo"]
    # A text with problems creates nothing
    before = len(api(server, admin, "GET", "list?limit=100").get("jobs", []))
    refused = bo.post("/jobs/new", {"settings": "name: [unclosed\n"})
    assert refused.status == 400 and problems(refused.text)[0].startswith("2:1: invalid YAML")
    assert len(api(server, admin, "GET", "list?limit=100").get("jobs", [])) == before


def test_a_bundle_pasted_as_a_new_job_is_named_a_bundle_once_with_what_to_do(
        ada: PageUser) -> None:
    bundle = ("bundle:\n  name: shop\nresources:\n  jobs:\n    nightly:\n"
              "      name: nightly\n      tasks: []\n")

    refused = ada.post("/jobs/new", {"settings": bundle})

    assert refused.status == 400
    [said] = problems(refused.text)  # not an unknown field per section ("git_source?")
    assert said.startswith("1:1: bundle: this is a bundle (databricks.yml)"), said
    assert "resources.jobs.<name>" in said and "headwater deploy --host URL" in said


def test_a_deleted_job_is_gone_after_its_confirmation(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "doomed")
    confirm = ada.get(f"/jobs/{job_id}/delete")
    assert confirm.status == 200 and "Its runs and versions stay readable" in confirm.text

    deleted = ada.post(f"/jobs/{job_id}/delete")

    assert deleted.status == 303 and deleted.headers["location"] == f"/jobs?deleted={job_id}"
    assert f"Job {job_id} was deleted." in ada.get(deleted.headers["location"]).text
    gone = server.call("GET", f"/api/2.2/jobs/get?job_id={job_id}", token=admin)
    assert gone.status == 400 and "does not exist" in gone.text
    assert ada.get(f"/jobs/{job_id}").status == 404


def test_a_run_of_a_deleted_job_stays_readable_and_offers_nothing_it_cannot_do(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "gone_but_read")
    run_id = run_now(server, admin, job_id)
    wait_for_state(server, admin, run_id, "SUCCESS")

    assert ada.post(f"/jobs/{job_id}/delete").status == 303
    page = ada.get(f"/runs/{run_id}")

    assert page.status == 200
    assert f"Job {job_id} was deleted: this run stays readable" in html.unescape(page.text)
    assert 'id="run-again"' not in page.text and 'id="repair"' not in page.text
    assert f'href="/jobs/{job_id}"' not in page.text  # a link to a page that is gone


def test_a_viewer_gets_no_edit_or_delete_and_a_403_for_each_post(
        server: Server, admin: str, vic: PageUser) -> None:
    job_id = two_tasks(server, admin, "watched", access_control_list=[
        {"user_name": "vic", "permission_level": "CAN_VIEW"}])

    page = vic.get(f"/jobs/{job_id}")

    assert page.status == 200
    assert "/edit" not in page.text and "/delete" not in page.text
    assert 'aria-disabled="true"' not in page.text and "Disconnect" not in page.text
    for path, fields in (("/edit/review", {"settings": EDITED}),
                         ("/edit/review", {"settings": "name: [bad"}),  # refused before read
                         ("/reset", {"settings": EDITED, "base_version": "1"}),
                         ("/tasks/load/review", {"max_retries": "-1"}),
                         ("/delete", {})):
        refused = vic.post(f"/jobs/{job_id}{path}", fields)
        assert refused.status == 403, (path, refused.status)
        assert "does not have permission to manage job" in refused.text
        assert "<h1>Not allowed</h1>" in refused.text
    for path in ("/edit", "/delete"):
        assert vic.get(f"/jobs/{job_id}{path}").status == 403
    assert job(server, admin, job_id)["headwater"]["version"] == 1


def test_a_change_without_the_sessions_csrf_token_is_refused(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "guarded")

    for path, fields in ((f"/jobs/{job_id}/edit/review", {"settings": EDITED}),
                         (f"/jobs/{job_id}/delete", {}),
                         ("/jobs/new", {"settings": EDITED})):
        refused = ada.post(path, fields, with_csrf=False)
        assert refused.status == 403, path
        assert "security token" in refused.text
    assert job(server, admin, job_id)["headwater"]["version"] == 1


@pytest.mark.parametrize(("interval", "unit", "said"), [
    ("nan", "seconds", "'nan' is not a number"), ("inf", "minutes", "'inf' is not a number"),
    ("1e308", "hours", "1e308 hours is longer than any timeout or interval can be")])
def test_a_duration_no_job_can_have_is_a_problem_of_the_form_not_a_500(
        server: Server, admin: str, ada: PageUser, interval: str, unit: str, said: str) -> None:
    job_id = two_tasks(server, admin, f"durations_{unit}")

    page = ada.post(f"/jobs/{job_id}/tasks/load/review", {
        "depends_on": "extract", "run_if": "ALL_SUCCESS", "max_retries": "1",
        "interval": interval, "interval_unit": unit})

    assert page.status == 400, page.text
    assert any(p.startswith("tasks[load].min_retry_interval_millis: ") and said in p
               for p in problems(page.text)), problems(page.text)


@pytest.mark.parametrize(("edited", "depends_on", "said"), [
    ("load", "load", "tasks[load].depends_on[0].task_key: task 'load' depends on itself"),
    ("extract", "load", "tasks[load].depends_on[0]: the tasks form a cycle: extract -> load")])
def test_the_task_editor_names_the_service_s_problems_by_task_key(
        server: Server, admin: str, ada: PageUser, edited: str, depends_on: str,
        said: str) -> None:
    """The form names fields `tasks[load]...`; what the service finds (in the task sent, or
    in the job it would make) is named so too, not by an index the page never shows."""
    job_id = two_tasks(server, admin, f"named_{edited}")

    page = ada.post(f"/jobs/{job_id}/tasks/{edited}/review", {
        "depends_on": depends_on, "run_if": "ALL_SUCCESS", "max_retries": "0",
        "interval": "1", "interval_unit": "seconds"})

    assert page.status == 400, page.text
    assert any(p.startswith(said) for p in problems(page.text)), problems(page.text)


def test_a_task_s_editor_shows_what_it_runs_and_where_to_change_it(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = two_tasks(server, admin, "shows_what_runs")

    page = html.unescape(ada.get(f"/jobs/{job_id}/tasks/load").text)

    assert 'Type: shell command task, running <code>{"command": "echo l"}</code>' in page
    assert f'<a href="/jobs/{job_id}/edit">edit the job as YAML</a>' in page


def test_a_repair_form_without_a_valid_choice_is_refused_and_repairs_nothing(
        server: Server, admin: str, ada: PageUser) -> None:
    job_id = create_job(server, admin, {"name": "fails_once", "tasks": [shell("bad", "exit 3")]})
    run_id = run_now(server, admin, job_id)
    wait_for_state(server, admin, run_id, "FAILED")

    weird = ada.post(f"/runs/{run_id}/repair", {"mode": "weird"})
    nothing = ada.post(f"/runs/{run_id}/repair", {"mode": "chosen", "more": " , "})

    assert weird.status == 400 and "mode 'weird': rerun the failed tasks" in \
        html.unescape(weird.text)
    assert nothing.status == 400 and "No task is chosen to rerun" in nothing.text
    history = api(server, admin, "GET", f"runs/get?run_id={run_id}&include_history=true")
    assert len(history.get("repair_history") or []) <= 1  # the original run alone


def test_a_runs_filter_the_form_would_not_give_is_refused_naming_it(ada: PageUser) -> None:
    page = ada.get("/runs?state=failed&trigger=X&job_id=abc")

    assert page.status == 400
    text = html.unescape(page.text)
    assert "job_id 'abc' is not an id" in text
    assert "state 'failed' is not one of active, completed, SUCCESS, FAILED" in text
    assert "trigger 'X' is not one of ONE_TIME, PERIODIC" in text
    assert ada.get("/runs?state=FAILED&trigger=ONE_TIME").status == 200
    # thousands of digits are no id either, for any filter form (int() would refuse them)
    for path in ("/runs?job_id=", "/audit?job_id=", "/audit?run_id="):
        assert ada.get(path + "9" * 5000).status == 400, path
