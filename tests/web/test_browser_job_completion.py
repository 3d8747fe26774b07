"""A job started by a job-completion trigger, in the browser: its page says when it runs, and
the page of the run it fired names the upstream runs, which link to their pages."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, run_now, shell, wait_for_state


def test_a_run_fired_by_upstream_jobs_links_to_their_runs(
        ada: Visitor, server: Server, admin: str) -> None:
    # Given a report job that waits for two upstream jobs, each of which has run once
    ingest = create_job(server, admin, {"name": "ingest", "tasks": [shell("load", "true")]})
    enrich = create_job(server, admin, {"name": "enrich", "tasks": [shell("join", "true")]})
    report = create_job(server, admin, {
        "name": "report", "tasks": [shell("publish", "true")],
        "trigger": {"job_completion": {"jobs": [{"job_id": str(ingest)},
                                                {"job_id": str(enrich)}]}}})
    page = ada.goto(f"/jobs/{report}")
    expect(page.locator("#timing .upstream-states li")).to_have_text([
        re.compile(rf"job {ingest}:\s+waiting for a run to end as asked"),
        re.compile(rf"job {enrich}:\s+waiting for a run to end as asked")])
    upstream = [run_now(server, admin, ingest)]
    wait_for_state(server, admin, upstream[0], "SUCCESS")
    noted = re.compile(rf"job {ingest}:\s+ended as asked \(run {upstream[0]}\)")
    deadline = time.monotonic() + 30
    while not noted.search(page.locator("#timing .upstream-states li").first.inner_text()):
        assert time.monotonic() < deadline, "the trigger never noted ingest's end"
        page.wait_for_timeout(300)
        page.reload()  # the page is not live: look again
    upstream.append(run_now(server, admin, enrich))
    for run_id in upstream:
        wait_for_state(server, admin, run_id, "SUCCESS")
    deadline = time.monotonic() + 60
    while not (fired := api(server, admin, "GET",
                            f"runs/list?job_id={report}").get("runs")):
        assert time.monotonic() < deadline, "the report never started"
        time.sleep(0.3)

    # When the report's page, then its run's page, is opened
    page = ada.goto(f"/jobs/{report}")
    expect(page.locator("#timing .timing")).to_have_text(
        f"when each of job {ingest} and job {enrich} has succeeded (job completion trigger)"
        " (unpaused)")
    page = ada.goto(f"/runs/{fired[0]['run_id']}")

    # Then the head names both upstream runs, and a click leads to the first
    fired_by = page.locator("#run-head .fired-by")
    expect(fired_by).to_have_text(f"Started once run {upstream[0]} of job {ingest}, "
                                  f"run {upstream[1]} of job {enrich} ended")
    fired_by.get_by_role("link", name=f"run {upstream[0]}").click()
    expect(page.locator("#run-head h1")).to_contain_text(f"Run {upstream[0]} of ingest")


def test_each_trigger_of_the_list_shows_the_run_it_last_started(
        ada: Visitor, server: Server, admin: str) -> None:
    # Given a report job with two triggers: a paused schedule, and ingest's completion
    ingest = create_job(server, admin, {"name": "ingest", "tasks": [shell("load", "true")]})
    report = create_job(server, admin, {
        "name": "report", "tasks": [shell("publish", "true")], "triggers": [
            {"schedule": {"quartz_cron_expression": "0 0 6 * * ?", "timezone_id": "UTC"},
             "pause_status": "PAUSED"},
            {"job_completion": {"jobs": [{"job_id": str(ingest)}]}}]})
    wait_for_state(server, admin, run_now(server, admin, ingest), "SUCCESS")
    deadline = time.monotonic() + 60
    while not (fired := api(server, admin, "GET", f"runs/list?job_id={report}").get("runs")):
        assert time.monotonic() < deadline, "the report never started"
        time.sleep(0.3)

    # When the report's page is opened
    page = ada.goto(f"/jobs/{report}")

    # Then each trigger is listed in order, the second with the run it started, linked
    entries = page.locator("#timing .trigger-entries li")
    expect(entries).to_have_text([
        re.compile(r"at 06:00 .*\(paused\):\s+has started no run"),
        re.compile(rf"when job {ingest} has succeeded .*:\s+last started run "
                   rf"{fired[0]['run_id']}, ")])
    entries.nth(1).get_by_role("link", name=f"run {fired[0]['run_id']}").click()
    expect(page.locator("#run-head h1")).to_contain_text(f"Run {fired[0]['run_id']} of report")
