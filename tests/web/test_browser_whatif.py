"""A job page's What if panel, in a browser: the flagship job (deployed from its bundle to a
real server) coloured by a simulated failure, the table of every task failing, and a
scenario that does not fit the job refused with its reason. Each answer is checked against
`headwater.testing` on the same settings, and no run may be made."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from headwater.core.whatif_sweep import MAX_SWEPT_TASKS
from headwater.testing import simulate_failures, simulate_job
from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, deploy_flagship, flagship_copy, shell


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = flagship_copy(tmp_path_factory.mktemp("whatif"))
    found = Server(folder, f"sqlite:///{folder / 'state.db'}").start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def job_id(server: Server, admin: str) -> int:
    return deploy_flagship(server, admin)


@pytest.fixture(scope="module")
def settings(server: Server, admin: str, job_id: int) -> dict[str, Any]:
    found: dict[str, Any] = api(server, admin, "GET", f"get?job_id={job_id}")["settings"]
    return found


def node(page: Page, key: str) -> Any:
    return page.locator(f"#job-graph svg.graph a.node[data-task-key='{key}']")


def shown_states(page: Page) -> dict[str, str]:
    rows = page.locator("table.whatif-tasks tbody tr")
    return {rows.nth(i).get_attribute("data-task-key") or "":
            rows.nth(i).get_attribute("data-state") or "" for i in range(rows.count())}


def no_runs(server: Server, admin: str, job_id: int) -> bool:
    return not api(server, admin, "GET", f"runs/list?job_id={job_id}").get("runs")


def test_a_chosen_failure_colours_the_graph_as_a_run_would_end(
        ada: Visitor, server: Server, admin: str, job_id: int,
        settings: dict[str, Any]) -> None:
    expected = simulate_job(settings, fail=["bronze_ingest"])
    page = ada.goto(f"/jobs/{job_id}")
    ada.mark()
    expect(node(page, "report")).to_have_class(re.compile(r"\btone-plan\b"))
    # When the panel is asked what happens if bronze_ingest fails after all its retries
    page.select_option("#whatif-fail", "bronze_ingest")
    page.click("form.whatif button[type=submit]")
    # Then the graph, in place, shows the Lab's answer: four attempts, report skipped,
    # the failure handler run, the run failed
    expect(page.locator("#whatif-summary")).to_contain_text("bronze_ingest fails after all "
                                                            "its retries")
    assert ada.still_marked()
    expect(node(page, "bronze_ingest")).to_have_class(re.compile(r"\btone-bad\b"))
    expect(node(page, "bronze_ingest")).to_contain_text("4 attempts")
    expect(node(page, "report")).to_contain_text("Upstream failed")
    expect(node(page, "alert_on_failure")).to_have_class(re.compile(r"\btone-ok\b"))
    expect(page.locator("#whatif-summary .run-state")).to_contain_text("Failed")
    expect(page.locator("#job-graph figcaption")).to_contain_text("Simulated")
    # And every task ends as headwater.testing says, with as many attempts
    assert shown_states(page) == {task.task_key: str(task.result_state or
                                                     task.life_cycle_state)
                                  for task in expected.tasks}
    expect(page.locator("#whatif-task-bronze_ingest td.num")).to_have_text(
        str(expected.task("bronze_ingest").attempt_count))
    alerts = page.locator("table.whatif-alerts tbody tr")
    expect(alerts).to_have_count(len(expected.alerts))
    # And the address says so: opened as a link, the page shows the same, drawn by the server
    assert page.url.endswith(f"/jobs/{job_id}/whatif?fail=bronze_ingest")
    page.reload()
    expect(node(page, "report")).to_contain_text("Upstream failed")
    expect(page.locator("#whatif-fail")).to_have_value("bronze_ingest")
    ada.shot("whatif")
    # And nothing ran
    assert no_runs(server, admin, job_id)


def test_a_slow_task_and_a_cancel_are_asked_in_the_panel_s_second_part(
        ada: Visitor, server: Server, admin: str, job_id: int,
        settings: dict[str, Any]) -> None:
    slow = simulate_job(settings, durations={"transform_silver_orders": 400})
    canceled = simulate_job(settings, cancel_at="validation")
    page = ada.goto(f"/jobs/{job_id}")
    # When the panel is asked what happens if each attempt of a silver task takes 400 s
    page.click("details.whatif-more summary")
    page.select_option("#whatif-slow", "transform_silver_orders")
    page.fill("#whatif-seconds", "400")
    page.click("form.whatif button[type=submit]")
    # Then it shows what headwater.testing says: past its 300 s timeout, the task times out
    expect(page.locator("#whatif-summary")).to_contain_text(
        "each attempt of transform_silver_orders takes 400 s")
    assert slow.task("transform_silver_orders").result_state == "TIMEDOUT"
    expect(node(page, "transform_silver_orders")).to_contain_text("Timed out")
    assert shown_states(page) == {t.task_key: str(t.result_state or t.life_cycle_state)
                                  for t in slow.tasks}
    assert page.url.endswith(f"/jobs/{job_id}/whatif?slow=transform_silver_orders&seconds=400")
    # And a link that cancels the run when validation starts opens with that part shown
    page = ada.goto(f"/jobs/{job_id}/whatif?cancel_at=validation")
    expect(page.locator("details.whatif-more")).to_have_attribute("open", "")
    expect(page.locator("#whatif-cancel")).to_have_value("validation")
    expect(page.locator("#whatif-summary .run-state")).to_contain_text("Cancelled")
    assert shown_states(page) == {t.task_key: str(t.result_state or t.life_cycle_state)
                                  for t in canceled.tasks}
    assert no_runs(server, admin, job_id)


def test_every_task_failing_says_which_failures_are_handled(
        ada: Visitor, server: Server, admin: str, job_id: int,
        settings: dict[str, Any]) -> None:
    cases = simulate_failures(settings)
    page = ada.goto(f"/jobs/{job_id}")
    page.click("form.whatif a:text-is('Every task failing')")
    rows = page.locator("table.whatif-failures tbody tr")
    expect(rows).to_have_count(len(cases))
    handled = sum(case.handled for case in cases)
    expect(page.locator("#failures-summary")).to_contain_text(
        f"{handled} of {len(cases)} failures handled")
    for case in cases:
        row = page.locator(f"table.whatif-failures tr[data-task-key='{case.task_key}']")
        if case.reached:
            expect(row.locator("td.num")).to_have_text(str(case.attempts))
            expect(row).to_contain_text("; ".join(case.handled_by) or "nothing")
    # When one row is opened, the graph shows that failure
    page.click("table.whatif-failures a:text-is('transform_silver_orders')")
    expect(node(page, "transform_silver_orders")).to_have_class(re.compile(r"\btone-bad\b"))
    expect(page.locator("#whatif-summary")).to_contain_text("transform_silver_orders fails")
    assert no_runs(server, admin, job_id)


def test_a_scenario_that_does_not_fit_the_job_is_refused_with_its_reason(
        ada: Visitor, job_id: int) -> None:
    page = ada.goto(f"/jobs/{job_id}")
    answer = page.request.get(f"{ada.server.url}/jobs/{job_id}/whatif?fail=bronze_ingst"
                              "&outcome:quality_gate=maybe")
    assert answer.status == 400
    assert "&#39;maybe&#39; is not a branch" in answer.text()
    answer = page.request.get(f"{ada.server.url}/jobs/{job_id}/whatif?fail=bronze_ingst")
    assert answer.status == 400
    assert "did you mean &#39;bronze_ingest&#39;" in answer.text()
    # Whatever a link asks, the answer is the client's mistake, never a failure of the server
    for query, status in [("fail=report&timeout=report", 400),
                          ("outcome:report=true", 400), ("parameter:nope=1", 400),
                          ("fail=" + "x" * 5000, 400), ("fail=%00", 400)]:
        answer = page.request.get(f"{ada.server.url}/jobs/{job_id}/whatif?{query}")
        assert answer.status == status, (query, answer.status, answer.text()[:300])
    for path, status in [(f"/jobs/{job_id + 1000}/whatif", 404), ("/jobs/abc/whatif", 404),
                         (f"/jobs/{job_id + 1000}/whatif/every-failure", 404),
                         ("/jobs?page=many", 400)]:
        answer = page.request.get(f"{ada.server.url}{path}")
        assert answer.status == status, (path, answer.status, answer.text()[:300])
    # '²' is a digit to str.isdigit, but int() refuses it: no page may fail on it
    # and neither may an id beyond what the store holds (64 bits)
    huge = "99999999999999999999"
    for path in [f"/jobs/{job_id}/whatif?iterations:x=%C2%B2", "/metrics?job_id=%C2%B2",
                 "/audit?job=%C2%B2", "/runs?job_id=%C2%B2", f"/runs/{huge}",
                 f"/jobs/{huge}/edit", f"/runs?job_id={huge}", f"/jobs/{huge}"]:
        answer = page.request.get(f"{ada.server.url}{path}")
        assert answer.status < 500, (path, answer.status, answer.text()[:300])


def test_a_job_too_large_for_the_every_failure_table_says_what_to_run_instead(
        ada: Visitor, server: Server, admin: str) -> None:
    tasks = [shell(f"step_{i}", "true", *([f"step_{i - 1}"] if i else []))
             for i in range(MAX_SWEPT_TASKS + 1)]
    job_id = create_job(server, admin, {"name": "long_chain", "tasks": tasks})
    page = ada.goto(f"/jobs/{job_id}")
    expect(page.locator("form.whatif a:text-is('Every task failing')")).to_have_count(0)
    expect(page.locator("form.whatif .no-sweep")).to_contain_text(
        "headwater simulate --all-failures")
    answer = page.request.get(f"{ada.server.url}/jobs/{job_id}/whatif/every-failure")
    assert answer.status == 400
    assert f"at most {MAX_SWEPT_TASKS}" in answer.text()
    # One failure is still simulated at once
    page.select_option("#whatif-fail", "step_0")
    page.click("form.whatif button[type=submit]")
    expect(node(page, "step_1")).to_contain_text("Upstream failed")
