"""`make bench`, W7: the web UI's run page of a large run in headless Chromium, against the
page of a one-task run (the floor) measured in the same run, on the same server.

For each page: the time to load it (the server renders it, the browser lays it out); the time
from a click on a task's node to its panel; the time of one full live refresh (every part of
the page fetched and put in place, what the poller does when a run changes); and, for the
last two, the longest task that blocked the page's main thread meanwhile (the browser's long
tasks, `*_blocked`: while one runs the page does not answer the keyboard or the mouse).
Needs Debian's chromium and the `playwright` package (dev extra); without them W7 says it was
skipped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from headwater.bootstrap import App

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]
LONG_TASKS = """() => {
    window.__longest = 0;
    const since = performance.now();  // the long tasks of loading the page do not count
    new PerformanceObserver(list => {
        for (const entry of list.getEntries())
            if (entry.startTime >= since)
                window.__longest = Math.max(window.__longest, entry.duration);
    }).observe({type: 'longtask', buffered: true});
}"""
TIMES = ("load_ms", "panel_ms", "panel_blocked_ms", "refresh_ms", "refresh_blocked_ms")
REFRESH = """url => {
    const started = performance.now();
    return htmx.ajax('GET', url, {target: '#run-poll', swap: 'none'})
        .then(() => new Promise(done => requestAnimationFrame(() => setTimeout(done))))
        .then(() => performance.now() - started);
}"""


@contextmanager
def serving(app: App) -> Iterator[str]:
    """The API and the pages over `app`'s service on a loopback port, in this process."""
    import uvicorn

    from headwater.api.app import create_app
    from headwater.web import create_web_app, with_web_ui

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    site = with_web_ui(create_app(app.service), create_web_app(app.service))
    web = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join()


def measure(page: object, url: str, run_id: int, task_key: str) -> dict[str, float]:
    """Milliseconds to load the run's page, to open `task_key`'s panel from the graph, and
    to refresh every part live; the longest main-thread task meanwhile."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    started = time.perf_counter()
    page.goto(f"{url}/runs/{run_id}", wait_until="load")
    load = (time.perf_counter() - started) * 1000
    page.evaluate(LONG_TASKS)
    started = time.perf_counter()
    page.click(f"svg.graph a.node[data-task-key='{task_key}']")
    page.locator("#task-panel h2", has_text=task_key).wait_for()
    panel = (time.perf_counter() - started) * 1000
    panel_blocked = float(page.evaluate("window.__longest"))
    page.evaluate(LONG_TASKS)
    refresh = float(page.evaluate(REFRESH, f"/runs/{run_id}/live?v=&task={task_key}"))
    rows = page.locator("#run-tasks tbody tr").count()
    return {"load_ms": load, "panel_ms": panel, "panel_blocked_ms": panel_blocked,
            "refresh_ms": refresh, "refresh_blocked_ms": float(page.evaluate("window.__longest")),
            "rows": rows, "html_kb": len(page.content()) / 1024}


def ui_pages(app: App, runs: dict[str, tuple[int, str]]) -> list[dict[str, object]]:
    """W7: each run of `runs` (name: run id, a task to open) against the first, the floor."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("W7 run pages: skipped (pip install playwright: the dev extra)")
        return []
    if not CHROMIUM.exists():
        print(f"W7 run pages: skipped ({CHROMIUM} missing: apt-get install chromium)")
        return []
    token = app.service.create_token("bench", admin=True).token
    rows: list[dict[str, object]] = []
    with serving(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        page.goto(f"{url}/signin")
        page.fill("#token", token)
        page.click("form[action='/signin'] button[type=submit]")
        page.wait_for_url(f"{url}/jobs")
        floor: dict[str, float] = {}
        for name, (run_id, task_key) in runs.items():
            measure(page, url, run_id, task_key)  # warm: templates compiled, caches filled
            figures = measure(page, url, run_id, task_key)
            floor = floor or figures
            print(f"{name:<26} {figures['rows']:>5} rows {figures['html_kb']:6.0f} KB "
                  + " ".join(f"{k[:-3]} {figures[k]:5.0f} ms (x{figures[k] / max(floor[k], 1):.1f})"
                             for k in TIMES))
            rows.append({"workload": name, **{k: round(v, 1) for k, v in figures.items()},
                         "load_ratio": round(figures["load_ms"] / floor["load_ms"], 2)})
        browser.close()
    return rows
