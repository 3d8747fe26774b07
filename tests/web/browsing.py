"""Helpers of the browser tests: headless Chromium (Debian's, driven by Playwright) signed in to
a real `headwater server`, what each page logged to its console, and the API calls that set
the stage (jobs made and runs started the way a client would).

Chromium is `/usr/bin/chromium` (CI installs Debian's `chromium`); Playwright never downloads
a browser of its own. Without that executable the browser tests skip, saying so loudly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.servers import Reply, Server, clean_env

CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lf_job_etl_pipeline"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NO_CHROMIUM = ("CHROMIUM MISSING: /usr/bin/chromium not found (apt-get install -y chromium); "
               "the web UI was NOT checked in a browser")
LAPTOP = {"width": 1366, "height": 800}
# Where the pages' screenshots go: docs/guide/images when regenerating the docs'.
SCREENSHOTS = os.environ.get("HEADWATER_UI_SCREENSHOTS")
WAIT_MS = 120_000  # for a run to reach a state (machines under load are slow)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visitor:
    """One signed-in browser session and what its pages logged as errors."""

    context: BrowserContext
    page: Page
    server: Server
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Page:
        self.page.goto(self.server.url + path)
        return self.page

    def mark(self) -> None:
        """Mark the page: a reload (or a navigation) would lose the mark."""
        self.page.evaluate("window.__headwaterMark = 'kept'")

    def still_marked(self) -> bool:
        return bool(self.page.evaluate("window.__headwaterMark === 'kept'"))

    def csrf(self) -> str:
        """The CSRF token the page was rendered with."""
        value = self.page.locator("input[name=csrf_token]").first.get_attribute("value")
        assert value
        return value

    def wait_for_error(self, text: str, timeout_ms: int = 10_000) -> None:
        """Wait until the console logged an error containing `text` (messages arrive
        after the page that caused them)."""
        waited = 0
        while not any(text in error for error in self.errors):
            assert waited < timeout_ms, f"no console error with {text!r}: {self.errors}"
            self.page.wait_for_timeout(50)
            waited += 50

    def shot(self, name: str) -> None:
        """A screenshot of the page (into $HEADWATER_UI_SCREENSHOTS, when it is set)."""
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


@contextmanager
def visitor(browser: Browser, server: Server, token: str) -> Iterator[Visitor]:
    """A new browser session signed in with `token` through the sign-in page."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    found = Visitor(context, page, server)
    page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: found.errors.append(str(error)))
    # Refused requests are printed: a failing test shows them in its captured output.
    page.on("response", lambda r: print("RESPONSE", r.status, r.url) if r.status >= 400 else None)
    try:
        sign_in(found, token)
        yield found
    finally:
        context.close()


def sign_in(found: Visitor, token: str, start: str = "/jobs") -> None:
    page = found.goto(start)
    page.fill("#token", token)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(found.server.url + start.split("#")[0])))


def flagship_copy(folder: Path) -> Path:
    """A copy of the flagship example's folder in `folder` (without its outputs)."""
    copy = folder / "lf_job_etl_pipeline"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("output", ".headwater"))
    return copy


def deploy_flagship(server: Server, token: str) -> int:
    """Deploy the flagship from the server's folder (a `flagship_copy`), dev target, as
    `headwater deploy` does; the job's id."""
    env = clean_env(DATABRICKS_HOST=server.url, DATABRICKS_TOKEN=token)
    deployed = subprocess.run([sys.executable, "-m", "headwater", "deploy", "--target", "dev"],
                              cwd=server.workdir, env=env, capture_output=True, text=True,
                              timeout=120)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    found = re.search(r"lf_job_etl_pipeline: (\d+)", deployed.stdout)
    assert found, deployed.stdout
    return int(found.group(1))


def api(server: Server, token: str, method: str, path: str, body: Any = None) -> Any:
    """A Jobs API call that must succeed; its JSON answer."""
    reply: Reply = server.call(method, f"/api/2.2/jobs/{path}", body, token=token)
    assert reply.status == 200, (path, reply.status, reply.text)
    return reply.body


def create_job(server: Server, token: str, settings: dict[str, Any]) -> int:
    return int(api(server, token, "POST", "create", settings)["job_id"])


def run_now(server: Server, token: str, job_id: int, **parameters: str) -> int:
    body: dict[str, Any] = {"job_id": job_id}
    if parameters:
        body["job_parameters"] = parameters
    return int(api(server, token, "POST", "run-now", body)["run_id"])


def run_state(server: Server, token: str, run_id: int) -> str:
    state = api(server, token, "GET", f"runs/get?run_id={run_id}")["state"]
    return str(state.get("result_state") or state["life_cycle_state"])


def wait_for_state(server: Server, token: str, run_id: int, wanted: str,
                   timeout: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while run_state(server, token, run_id) != wanted:
        assert time.monotonic() < deadline, f"run {run_id} never reached {wanted}"
        time.sleep(0.2)


def shell(key: str, command: str, *deps: str, **fields: Any) -> dict[str, Any]:
    env = fields.pop("env", None)
    body: dict[str, Any] = {"command": command, **({"env": env} if env else {})}
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "shell_command_task": body, **fields}
