"""The Lab's parts A and B, done in the web UI as the Lab does them in Lakeflow's: the flagship
job (`examples/lf_job_etl_pipeline`, deployed from its bundle to a real server), then

- A: open `report`, make it run only if `validation` succeeded;
- B: open `bronze_ingest`, give it 3 retries at a 1-minute interval (the Lab's values, seen
  in the review), then at the 1-second interval of the dev target (a test cannot wait three
  minutes); run the job with the controlled failure and watch the attempts and the failure
  alert on the run's page.

Each edit is reviewed as a diff and saved as a new version of the job (`jobs/update`). The
alert e-mail goes to an SMTP server on loopback, which must receive it.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.servers import Server, wait_for
from tests.web.browsing import WAIT_MS, Visitor, api, deploy_flagship, flagship_copy

LOOPBACK = "127.0.0.1"


class Mailbox:
    """What an SMTP server on loopback received."""

    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname=LOOPBACK, port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           mailbox: tuple[Mailbox, int]) -> Iterator[Server]:
    """A server run from a copy of the example's folder, its alerts sent to the mailbox."""
    folder = flagship_copy(tmp_path_factory.mktemp("lab"))
    (folder / "headwater.yml").write_text(json.dumps({
        "smtp": {"host": LOOPBACK, "port": mailbox[1], "timeout_seconds": 5},
        "destinations": {"ops-webhook": {"type": "webhook",
                                         "url": f"http://{LOOPBACK}:9/hooks/ops"}},
        "delivery": {"max_attempts": 1}}))
    found = Server(folder, f"sqlite:///{folder / 'state.db'}").start()
    yield found
    found.close()


@pytest.fixture(scope="module")
def job_id(server: Server, admin: str) -> int:
    """The flagship job deployed from its bundle (dev target), then set back to where the Lab
    starts: `report` runs whatever its upstream did, `bronze_ingest` never retries."""
    found = deploy_flagship(server, admin)
    tasks = {t["task_key"]: t for t in api(server, admin, "GET", f"get?job_id={found}")
             ["settings"]["tasks"]}
    report = {**tasks["report"], "run_if": "ALL_DONE"}
    bronze = {k: v for k, v in tasks["bronze_ingest"].items()
              if k not in ("max_retries", "min_retry_interval_millis")}
    api(server, admin, "POST", "update", {"job_id": found,
                                          "new_settings": {"tasks": [report, bronze]}})
    return found


def settings_of(server: Server, token: str, job_id: int) -> dict[str, Any]:
    job = api(server, token, "GET", f"get?job_id={job_id}")
    tasks = {t["task_key"]: t for t in job["settings"]["tasks"]}
    return {"version": job["headwater"]["version"], "tasks": tasks}


def open_task(ada: Visitor, job_id: int, key: str) -> None:
    """Open a task of the job from its graph, as in Lakeflow's UI."""
    page = ada.goto(f"/jobs/{job_id}")
    page.click(f"svg.graph a.node[data-task-key='{key}']")
    expect(page.locator("h1")).to_contain_text(f"Task {key}")


def test_part_a_report_runs_only_if_validation_succeeded(
        ada: Visitor, server: Server, admin: str, job_id: int) -> None:
    before = settings_of(server, admin, job_id)
    page = ada.goto("/jobs")
    page.click("table.jobs a:has-text('lf_job_etl_pipeline')")
    expect(page.locator(".notice.warn")).to_contain_text("next deploy of those files "
                                                         "overwrites them")
    ada.shot("job")
    # When report is opened, made to depend on validation and to run if all succeeded
    open_task(ada, job_id, "report")
    page.check("input[name=depends_on][value=validation]")
    page.select_option("#run_if", "ALL_SUCCESS")
    ada.shot("task-editor")
    page.click("button:text-is('Review changes')")
    # Then the review shows exactly that change
    diff = page.locator("pre.diff")
    expect(diff.locator(".remove")).to_contain_text(["run_if: ALL_DONE"])
    expect(diff.locator(".add")).to_contain_text(["task_key: validation"])
    ada.shot("review")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text(f"Saved as version {before['version'] + 1}")
    # And the job has a new version where report runs only if validation succeeded
    after = settings_of(server, admin, job_id)
    assert after["version"] == before["version"] + 1
    report = after["tasks"]["report"]
    assert "run_if" not in report or report["run_if"] == "ALL_SUCCESS"
    assert {d["task_key"] for d in report["depends_on"]} == {"quality_gate", "validation"}


def test_part_b_retries_then_a_controlled_failure_watched_live(
        ada: Visitor, server: Server, admin: str, job_id: int,
        mailbox: tuple[Mailbox, int]) -> None:
    before = settings_of(server, admin, job_id)
    assert "max_retries" not in before["tasks"]["bronze_ingest"]
    # When bronze_ingest gets 3 retries at the Lab's 1-minute interval, the review says so
    open_task(ada, job_id, "bronze_ingest")
    page = ada.page
    page.fill("#max_retries", "3")
    page.fill("#interval", "1")
    page.select_option("#interval_unit", "minutes")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(["max_retries: 3",
                                                           "min_retry_interval_millis: 60000"])
    # Saved at a 5-second interval instead (a test cannot wait 3 minutes). The interval runs
    # from the failed attempt's start, so it must outlast an attempt on a loaded machine for
    # the retry to be seen waiting: at 1 s, a slow attempt's retry starts at once.
    page.click("a:text-is('Discard')")
    open_task(ada, job_id, "bronze_ingest")
    page.fill("#max_retries", "3")
    page.fill("#interval", "5")
    page.select_option("#interval_unit", "seconds")
    page.click("button:text-is('Review changes')")
    expect(page.locator("pre.diff .add")).to_contain_text(["max_retries: 3",
                                                           "min_retry_interval_millis: 5000"])
    page.click("#save")
    after = settings_of(server, admin, job_id)
    assert after["version"] == before["version"] + 1
    assert (after["tasks"]["bronze_ingest"]["max_retries"],
            after["tasks"]["bronze_ingest"]["min_retry_interval_millis"]) == (3, 5000)

    # When the job runs with the controlled failure, watched from its run page
    page.fill("input[name='param:simulate_failure']", "true")
    page.click("#run-now button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    ada.mark()
    page.evaluate("""() => {
        window.__bronzeStates = [];
        const seen = () => {
            const row = document.getElementById('row-bronze_ingest');
            const state = row && row.getAttribute('data-state');
            const last = window.__bronzeStates[window.__bronzeStates.length - 1];
            if (state && state !== last) window.__bronzeStates.push(state);
        };
        seen();
        new MutationObserver(seen).observe(document.body,
            {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
    }""")
    # Then the attempts fail one after the other, and the run fails after the last retry
    expect(page.locator("#run-head")).to_have_attribute("data-state", "FAILED",
                                                        timeout=WAIT_MS)
    assert ada.still_marked()
    expect(page.locator("#row-bronze_ingest")).to_have_attribute("data-state", "FAILED")
    expect(page.locator("#row-bronze_ingest td.num").first).to_have_text("4")
    states = page.evaluate("window.__bronzeStates")
    assert "WAITING_FOR_RETRY" in states and states[-1] == "FAILED", states
    bars = page.locator("svg.timeline title", has_text=re.compile(r"^bronze_ingest attempt"))
    expect(bars).to_have_count(4)
    # And the failure handler ran, and the failure alert went out and is shown as delivered
    expect(page.locator("#row-alert_on_failure")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("#row-report")).not_to_have_attribute("data-state", "SUCCESS")
    alert = page.locator("#run-alerts tr.alert[data-event='on_failure']",
                         has_text="data-oncall@example.com")
    expect(alert).to_contain_text("DELIVERED", timeout=WAIT_MS)
    page.click("#row-bronze_ingest th a")
    expect(page.locator("#task-panel .error-text").first).to_contain_text(
        "Simulating ingestion failure for retry demo")
    ada.shot("run-lab")
    mails = wait_for(lambda: [m for m in mailbox[0].mails if str(run_id) in str(m["Subject"])],
                     what="the failure alert e-mail")
    assert "data-oncall@example.com" in str(mails[0]["To"])
