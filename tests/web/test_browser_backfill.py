"""A backfill started from the job's page in the browser: the form makes one run per day in
the job's queue, the runs list shows them, each run's page says which time it replays, and a
range that ends in the future is refused with the reason; a backfill is cancelled from one of
its runs' pages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.servers import Server
from tests.web.browsing import Visitor, api, create_job, shell, wait_for_state


def start_backfill(ada: Visitor, job_id: int, start: str, end: str, **parameters: str) -> Page:
    """Fill the job page's Backfill form and send it; the page it leaves."""
    page = ada.goto(f"/jobs/{job_id}")
    page.locator("#backfill summary").click()
    form = page.locator("#backfill form")
    form.locator("input[name=start]").fill(start)
    form.locator("input[name=end]").fill(end)
    for name, value in parameters.items():
        form.locator(f"input[name='param:{name}']").fill(value)
    form.get_by_role("button", name="Start the backfill").click()
    return page


def test_the_backfill_form_starts_a_run_per_day(ada: Visitor, server: Server, admin: str
                                                ) -> None:
    # Given a job that takes the day it loads as a parameter
    job_id = create_job(server, admin, {
        "name": "daily load", "parameters": [{"name": "day", "default": "today"}],
        "tasks": [shell("load", 'echo "loading $DAY"', env={"DAY": "{{job.parameters.day}}"})]})

    # When its Backfill form is filled for three days, the day taken from each run's time
    page = start_backfill(ada, job_id, "2026-11-01T00:00", "2026-11-03T00:00",
                          day="{{backfill.iso_date}}")

    # Then the runs list of the job shows three runs, and each knows its day
    page.wait_for_url(re.compile(rf".*/runs\?job_id={job_id}$"))
    expect(page.locator("table.runs tbody tr")).to_have_count(3)
    runs = api(server, admin, "GET", f"runs/list?job_id={job_id}")["runs"]
    oldest = min(run["run_id"] for run in runs)
    wait_for_state(server, admin, oldest, "SUCCESS")
    page = ada.goto(f"/runs/{oldest}")
    expect(page.locator("#run-head .backfill")).to_contain_text(
        "Backfill: run 1 of 3 of backfill")
    expect(page.locator("#run-head .backfill")).to_contain_text("for 2026-11-01T00:00:00Z")

    # And a backfill of a slow job is cancelled from one of its runs' page, its runs only
    slow_id = create_job(server, admin, {"name": "slow load", "tasks": [
        shell("load", "sleep 30")]})
    page = start_backfill(ada, slow_id, "2026-10-01T00:00", "2026-10-02T00:00")
    page.wait_for_url(re.compile(rf".*/runs\?job_id={slow_id}$"))
    slow_runs = sorted(run["run_id"] for run in api(server, admin, "GET",
                                                    f"runs/list?job_id={slow_id}")["runs"])
    page = ada.goto(f"/runs/{slow_runs[-1]}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#cancel-backfill").click()
    page.wait_for_url(re.compile(rf".*/runs\?job_id={slow_id}$"))
    for run_id in slow_runs:
        wait_for_state(server, admin, run_id, "CANCELED")
    assert api(server, admin, "GET", f"runs/get?run_id={oldest}")["state"][
        "result_state"] == "SUCCESS"

    # And a range that ends in the future is refused, saying why
    page = start_backfill(ada, job_id, "2026-11-01T00:00", "2099-11-03T00:00")
    expect(page.locator(".error-message")).to_contain_text("the backfill ends in the future")
    ada.wait_for_error("400")
    ada.errors.clear()  # the refusal the browser logged
