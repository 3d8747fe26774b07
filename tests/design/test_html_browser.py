"""The HTML design document in real headless Chromium: one SVG node per task, no console errors,
no request leaving the page. The screenshot is saved as tmp_path/design.png to look at.

Needs python `playwright` (pip) and Debian's `chromium` at /usr/bin/chromium (never
`playwright install`); skips, saying so loudly, only when that executable is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.design.conftest import Invoke

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="CHROMIUM MISSING: /usr/bin/chromium not found (apt-get install -y chromium); "
           "the HTML design document was NOT checked in a browser",
)


def test_the_html_design_renders_its_dag(
        job_file: Callable[[str], Path], run_describe: Invoke, tmp_path: Path) -> None:
    # Given the HTML design of a job with five tasks
    page_file = tmp_path / "design.html"
    result = run_describe(job_file("designed_job.yml"), "--format", "html", "--output", page_file)
    assert result.exit_code == 0, result.output

    # When headless Chromium opens it
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            page.screenshot(path=str(tmp_path / "design.png"), full_page=True)
            page.locator("figure.dag").screenshot(path=str(tmp_path / "dag.png"))
            nodes = page.locator("svg.dag g.node").evaluate_all(
                "nodes => nodes.map(n => n.getAttribute('data-task-key'))")
            box = page.locator("svg.dag").bounding_box()
            headings = page.locator("h2").all_inner_texts()
            drawn = page.locator("svg.dag g.node text.key").evaluate_all(
                "texts => texts.map(t => t.getBBox().width)")
            rects = page.locator("svg.dag g.node rect").evaluate_all(
                "rects => rects.map(r => r.getBBox().width)")
        finally:
            browser.close()

    # Then the SVG has one node per task, the page is quiet and self-contained
    assert sorted(nodes) == sorted(["ingest_bronze_orders", "check_bronze_quality",
                                    "publish_gold_orders", "quarantine_bronze_orders",
                                    "alert_on_failure"])
    assert errors == []
    assert requests == [page_file.as_uri()]
    assert box is not None and box["width"] > 300 and box["height"] > 50
    assert headings[0] == "Purpose" and headings[-1] == "Compute" and len(headings) == 8
    # and every task key fits inside its box
    assert all(text < rect for text, rect in zip(drawn, rects, strict=True))
    assert (tmp_path / "design.png").stat().st_size > 10_000
