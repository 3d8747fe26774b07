"""`GET /api/metrics` on a real server: what a Prometheus scraper reads, parsed by
prometheus_client's own parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from tests.servers import Server, clean_env, free_port, wait_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Server, token: str) -> Samples:
    reply = server.call("GET", "/api/metrics", token=token)
    assert reply.status == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def run_to_end(server: Server, token: str, settings: dict[str, Any]) -> tuple[int, int]:
    job = server.call("POST", "/api/2.2/jobs/create", settings, token=token).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body
    state = wait_for(lambda: _ended(server, token, run["run_id"]), what="the run to end")
    assert state["result_state"] == "SUCCESS", state
    return job["job_id"], run["run_id"]


def _ended(server: Server, token: str, run_id: int) -> dict[str, Any] | None:
    state = server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run_id}",
                        token=token).body["state"]
    return state if state["life_cycle_state"] == "TERMINATED" else None


def test_a_scraper_needs_a_token_and_any_user_s_will_do(server: Server) -> None:
    refused = server.call("GET", "/api/metrics")
    scraper = server.token("prometheus")

    assert refused.status == 401
    assert refused.body["error_code"] == "UNAUTHENTICATED"
    samples = scrape(server, scraper)
    assert value(samples, "headwater_build_info", version=_installed()) == 1
    assert value(samples, "headwater_runs_awaiting_engine") == 0
    # the server's own engine said it is alive as it started
    assert [value(samples, "headwater_engines", state=state)
            for state in ("alive", "unresponsive", "stopped")] == [1, 0, 0]
    assert ("headwater_runs_pruned_total", frozenset()) in samples
    assert ("process_cpu_seconds_total", frozenset()) in samples


def test_the_metrics_token_reads_the_metrics_and_nothing_else(tmp_path: Path) -> None:
    # Given a server whose headwater.yml names the variable holding a scraper's token
    (tmp_path / "headwater.yml").write_text("server: {metrics_token_env: SCRAPE_TOKEN}\n")
    scrape_token = "s" * 32
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                    env={"SCRAPE_TOKEN": scrape_token}).start()
    try:
        # Then that token reads the metrics, and is refused everywhere else
        assert value(scrape(server, scrape_token), "headwater_runs_awaiting_engine") == 0
        for method, path, body in [("GET", "/api/2.2/jobs/list", None),
                                   ("POST", "/api/2.2/jobs/create", {"name": "x"}),
                                   ("GET", "/api/2.0/secrets/scopes/list", None)]:
            refused = server.call(method, path, body, token=scrape_token)
            assert refused.status == 401, (path, refused.text)
        assert server.call("GET", "/api/metrics", token="s" * 31).status == 401
        # while a user's token still reads them too
        assert scrape(server, server.token("ann"))
    finally:
        server.close()


def test_a_metrics_token_variable_without_a_long_token_stops_the_server(
        tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text("server: {metrics_token_env: SCRAPE_TOKEN}\n")
    started = subprocess.run(
        [sys.executable, "-m", "headwater", "server", "--port", str(free_port())], cwd=tmp_path,
        env=clean_env(SCRAPE_TOKEN="short"), capture_output=True, text=True, timeout=120)
    assert started.returncode == 2
    assert ("headwater.yml server.metrics_token_env names SCRAPE_TOKEN, which holds a token "
            "shorter than 16 characters") in started.stderr


def test_ended_runs_and_every_attempt_are_counted_with_their_durations(
        server: Server) -> None:
    token = server.token("ann")
    scraper = server.token("prometheus")
    marker = server.workdir / "failed-once"
    before = scrape(server, scraper)

    job_id, _ = run_to_end(server, token, {"name": "flaky", "tasks": [{
        "task_key": "flaky", "max_retries": 1, "min_retry_interval_millis": 0,
        "shell_command_task": {"command": f"test -f {marker} || {{ touch {marker}; exit 1; }}"},
    }]})
    after = scrape(server, scraper)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("headwater_runs_ended_total", job_id=str(job_id), result_state="SUCCESS") == 1
    assert grew("headwater_task_attempts_ended_total", result_state="FAILED") == 1
    assert grew("headwater_task_attempts_ended_total", result_state="SUCCESS") == 1
    assert grew("headwater_run_duration_seconds_count") == 1
    assert grew("headwater_run_duration_seconds_bucket", le="+Inf") == 1
    assert grew("headwater_task_attempt_duration_seconds_count") == 2
    assert grew("headwater_run_duration_seconds_sum") >= grew(
        "headwater_task_attempt_duration_seconds_sum") > 0


def test_a_run_in_progress_shows_in_the_gauges_until_it_ends(server: Server) -> None:
    token = server.token("bob")
    scraper = server.token("prometheus")
    job = server.call("POST", "/api/2.2/jobs/create", {"name": "sleepy", "tasks": [
        {"task_key": "nap", "shell_command_task": {"command": "sleep 60"}}]}, token=token).body
    run = server.call("POST", "/api/2.2/jobs/run-now", job, token=token).body
    running = wait_for(lambda: _with_running_task(scrape(server, scraper)),
                       what="the task to show as running")

    cancel = server.call("POST", "/api/2.2/jobs/runs/cancel", {"run_id": run["run_id"]},
                         token=token)
    assert cancel.status == 200, cancel.text
    wait_for(lambda: server.call("GET", f"/api/2.2/jobs/runs/get?run_id={run['run_id']}",
                                 token=token).body["state"]["life_cycle_state"] == "TERMINATED",
             what="the run to be cancelled")
    ended = scrape(server, scraper)

    assert value(running, "headwater_runs", life_cycle_state="RUNNING") == 1
    assert value(running, "headwater_runs", life_cycle_state="QUEUED") == 0  # shown at 0
    assert value(running, "headwater_runs_awaiting_engine") == 0  # the server's engine has it
    assert value(ended, "headwater_runs", life_cycle_state="RUNNING") == 0
    assert value(ended, "headwater_task_runs", life_cycle_state="RUNNING") == 0
    assert value(ended, "headwater_runs_ended_total", job_id=str(job["job_id"]),
                 result_state="CANCELED") == 1


def _with_running_task(samples: Samples) -> Samples | None:
    return samples if value(samples, "headwater_task_runs", life_cycle_state="RUNNING") else None


def test_openmetrics_is_answered_to_a_scraper_that_asks_for_it(server: Server) -> None:
    reply = server.call("GET", "/api/metrics", token=server.token("prometheus"), headers={
        "Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"})

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.text.endswith("# EOF\n")
    assert "# TYPE headwater_runs_ended counter" in reply.text


def _installed() -> str:
    from importlib.metadata import version

    return version("headwater")
