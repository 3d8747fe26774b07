"""The HTML design document in real headless Chromium: one SVG node per task, no console errors,
no request leaving the page. The screenshot is saved as tmp_path/design.png to look at.

Needs python `playwright` (pip) and Debian's `chromium` at /usr/bin/chromium (never
`playwright install`); skips, saying so loudly, only when that executable is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from headwater.core.load import load_file
from tests.design.conftest import Invoke

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="CHROMIUM MISSING: /usr/bin/chromium not found (apt-get install -y chromium); "
           "the HTML design document was NOT checked in a browser",
)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lf_job_etl_pipeline" / "databricks.yml"


def open_design(page_file: Path, tmp_path: Path) -> dict[str, Any]:
    """Open an HTML design in headless Chromium; screenshot it; return what the page shows."""
    seen: dict[str, Any] = {"errors": [], "requests": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console",
                    lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            page.on("request", lambda request: seen["requests"].append(request.url))
            page.goto(page_file.as_uri())
            page.screenshot(path=str(tmp_path / "design.png"), full_page=True)
            page.locator("figure.dag").screenshot(path=str(tmp_path / "dag.png"))
            seen["nodes"] = page.locator("svg.dag g.node").evaluate_all(
                "nodes => nodes.map(n => n.getAttribute('data-task-key'))")
            seen["box"] = page.locator("svg.dag").bounding_box()
            seen["headings"] = page.locator("h2").all_inner_texts()
            seen["drawn"] = page.locator("svg.dag g.node text.key").evaluate_all(
                "texts => texts.map(t => t.getBBox().width)")
            seen["rects"] = page.locator("svg.dag g.node rect").evaluate_all(
                "rects => rects.map(r => r.getBBox().width)")
        finally:
            browser.close()
    return seen


def assert_quiet_and_readable(seen: dict[str, Any], page_file: Path, tmp_path: Path) -> None:
    """No console errors, nothing loaded from elsewhere, every task key inside its box."""
    assert seen["errors"] == []
    assert seen["requests"] == [page_file.as_uri()]
    box = seen["box"]
    assert box is not None and box["width"] > 300 and box["height"] > 50
    headings = seen["headings"]
    assert headings[0] == "Purpose" and headings[-1] == "Compute" and len(headings) == 8
    assert all(text < rect for text, rect in zip(seen["drawn"], seen["rects"], strict=True))
    assert (tmp_path / "design.png").stat().st_size > 10_000


def test_the_html_design_renders_its_dag(
        job_file: Callable[[str], Path], run_describe: Invoke, tmp_path: Path) -> None:
    # Given the HTML design of a job with five tasks
    page_file = tmp_path / "design.html"
    result = run_describe(job_file("designed_job.yml"), "--format", "html", "--output", page_file)
    assert result.exit_code == 0, result.output
    # When headless Chromium opens it
    seen = open_design(page_file, tmp_path)
    # Then the SVG has one node per task, the page is quiet and self-contained
    assert sorted(seen["nodes"]) == sorted(["ingest_bronze_orders", "check_bronze_quality",
                                            "publish_gold_orders", "quarantine_bronze_orders",
                                            "alert_on_failure"])
    assert_quiet_and_readable(seen, page_file, tmp_path)


def test_the_flagship_example_design_renders_in_a_browser(run_describe: Invoke,
                                                          tmp_path: Path) -> None:
    page_file = tmp_path / "design.html"
    result = run_describe(EXAMPLE, "--format", "html", "--output", page_file)
    assert result.exit_code == 0, result.output
    seen = open_design(page_file, tmp_path)
    tasks = [task.task_key for task in load_file(EXAMPLE)[0].settings.tasks]
    assert sorted(seen["nodes"]) == sorted(tasks) and len(tasks) == 10
    assert_quiet_and_readable(seen, page_file, tmp_path)
