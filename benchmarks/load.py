"""`make load`: many clients starting and polling runs against a real `headwater server`.

    python benchmarks/load.py [--clients 200] [--seconds 60] [--db URL] [--json FILE]

Starts `headwater server` on 127.0.0.1 over a fresh SQLite store in a temporary folder (or
over `--db URL`, a PostgreSQL database), creates a job of a few trivial tasks, and gives each
client its own token. For `--seconds`, every client starts a run (`jobs/run-now`, with an
idempotency token so that a retried request cannot start a second run), polls it
(`runs/get`, and `runs/list` every few polls) until it ends, and starts the next. `--sdk`
of the clients (4 by default) do the same through the real databricks-sdk. Then no new run
starts, every run started is waited for, and the invariants are checked:

- no answer was a 5xx (a 429 or 503 with `Retry-After` is an overload answer: the client
  waits as told and tries again; they are counted and shown, not failures), and every
  request was answered (no connection error or timeout);
- no run was lost: every run a client started exists, ended `TERMINATED`, and the job's
  `runs/list` holds exactly the runs the clients started (none missing, none twice).

Prints a table of requests, answers by status and p50/p95/p99 latency per endpoint, and the
runs started and finished; exits 1 when an invariant failed. Latencies depend on the machine
and on whatever else it runs: they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import httpx

from headwater.bootstrap import application
from headwater.config import Settings

API = "/api/2.2/jobs"
ENDED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
OVERLOADED = (429, 503)
TASKS = 3  # a chain of trivial tasks: each run spawns this many processes
LIST_EVERY = 3  # polls of runs/get between two runs/list
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "DATABRICKS_"))}


@dataclass
class Tally:
    """What the clients saw: latencies and statuses by endpoint, and the runs they started."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    unanswered: Counter[str] = field(default_factory=Counter)
    runs: set[int] = field(default_factory=set)
    finished: set[int] = field(default_factory=set)

    def record(self, endpoint: str, status: int, seconds: float) -> None:
        self.statuses[endpoint][status] += 1
        self.latencies[endpoint].append(seconds)

    def server_errors(self) -> int:
        return sum(n for counts in self.statuses.values()
                   for status, n in counts.items() if status >= 500 and status not in OVERLOADED)


def job_settings(tasks: int) -> dict[str, Any]:
    chain = [{"task_key": f"t{i}", "depends_on": [{"task_key": f"t{i - 1}"}] if i else [],
              "shell_command_task": {"command": "true"}} for i in range(tasks)]
    return {"name": "load", "max_concurrent_runs": 1000, "tasks": chain}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(folder: Path, db_url: str) -> Iterator[str]:
    """`headwater server` on a free loopback port over `db_url`; its URL until the block ends
    (then SIGTERM, which drains)."""
    port = free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "headwater", "server", "--port", str(port),
                                "--db", db_url], cwd=folder, env=CLEAN, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {folder / 'server.log'}")
            try:
                if httpx.get(f"{url}/.well-known/databricks-config").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def make_tokens(folder: Path, db_url: str, count: int) -> list[str]:
    """One token per client (as `headwater tokens create` makes them): the server's rate
    limit is per token, as it is per user on Databricks."""
    with application(Settings.from_env(CLEAN, folder, db=db_url)) as app:
        return [app.service.create_token(f"client{i}", admin=True).token for i in range(count)]


async def call(http: httpx.AsyncClient, tally: Tally, endpoint: str, method: str, path: str,
               stop_at: float, **kwargs: Any) -> httpx.Response | None:
    """One request, timed; an overload answer is waited out as its `Retry-After` says and
    the request sent again (until `stop_at`). None when it got no answer."""
    while True:
        started = time.perf_counter()
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            tally.unanswered[f"{endpoint}: {type(error).__name__}"] += 1
            return None
        tally.record(endpoint, response.status_code, time.perf_counter() - started)
        if response.status_code not in OVERLOADED or time.monotonic() > stop_at:
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def http_client(url: str, token: str, job_id: int, tally: Tally, until: float,
                      poll: float) -> None:
    """Until `until`: start a run, poll it to its end, start the next."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        while time.monotonic() < until:
            body = {"job_id": job_id, "idempotency_token": uuid.uuid4().hex}
            response = await call(http, tally, "run-now", "POST", f"{API}/run-now",
                                  until + 60, json=body)
            if response is None or response.status_code != 200:
                await asyncio.sleep(poll)
                continue
            run_id = int(response.json()["run_id"])
            tally.runs.add(run_id)
            await follow(http, tally, job_id, run_id, poll, until)


async def follow(http: httpx.AsyncClient, tally: Tally, job_id: int, run_id: int,
                 poll: float, until: float) -> None:
    """Poll a run with `runs/get` (and the job's `runs/list` now and then) until it ends or
    the load is over (the run is then waited for at the end)."""
    polls = 0
    while time.monotonic() < until:
        await asyncio.sleep(poll)
        polls += 1
        if polls % LIST_EVERY == 0:
            await call(http, tally, "runs/list", "GET", f"{API}/runs/list", until,
                       params={"job_id": job_id, "limit": 5})
        response = await call(http, tally, "runs/get", "GET", f"{API}/runs/get", until,
                              params={"run_id": run_id})
        if response is not None and response.status_code == 200 \
                and response.json()["state"]["life_cycle_state"] in ENDED:
            tally.finished.add(run_id)
            return


def sdk_client(url: str, token: str, job_id: int, tally: Tally, until: float,
               poll: float) -> None:
    """The same through the real databricks-sdk (in a thread: it is synchronous). The SDK
    waits out a 429 itself; what it raises counts as an unanswered request."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    client = WorkspaceClient(config=Config(host=url, token=token, retry_timeout_seconds=120))

    def timed(endpoint: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            found = action()
        except Exception as error:  # an SDK error is the answer it got: record, go on
            tally.unanswered[f"{endpoint}: {type(error).__name__}"] += 1
            return None
        tally.record(endpoint, 200, time.perf_counter() - started)
        return found

    while time.monotonic() < until:
        waiter = timed("sdk run-now", lambda: client.jobs.run_now(
            job_id, idempotency_token=uuid.uuid4().hex))
        if waiter is None:
            continue
        run_id = int(waiter.run_id)
        tally.runs.add(run_id)
        polls = 0
        while time.monotonic() < until:
            time.sleep(poll)
            polls += 1
            if polls % LIST_EVERY == 0:
                timed("sdk runs/list", lambda: list(islice(  # the first page: the SDK
                    client.jobs.list_runs(job_id=job_id, limit=5), 5)))  # pages on its own
            run = timed("sdk runs/get", lambda rid=run_id: client.jobs.get_run(rid))
            state = run and run.state and run.state.life_cycle_state
            if state and state.value in ENDED:
                tally.finished.add(run_id)
                break


async def wait_all_ended(url: str, token: str, runs: set[int], timeout: float) -> dict[int, str]:
    """Each run's end (`TERMINATED/SUCCESS`, ...), once all have ended or `timeout` passed;
    a run that does not exist is `missing`, one still going is its life-cycle state."""
    ends: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            for run_id in sorted(runs - {r for r, end in ends.items() if "/" in end}):
                response = await http.get(f"{API}/runs/get", params={"run_id": run_id})
                if response.status_code != 200:
                    ends[run_id] = "missing"
                    continue
                state = response.json()["state"]
                ends[run_id] = (f"{state['life_cycle_state']}/{state.get('result_state', '-')}"
                                if state["life_cycle_state"] in ENDED
                                else state["life_cycle_state"])
            if all("/" in end or end == "missing" for end in ends.values()) \
                    or time.monotonic() > deadline:
                return ends
            await asyncio.sleep(1)


async def listed_runs(url: str, token: str, job_id: int) -> list[int]:
    """Every run of the job in `runs/list`, page by page."""
    found: list[int] = []
    params: dict[str, Any] = {"job_id": job_id, "limit": 24}
    async with httpx.AsyncClient(base_url=url, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            body = (await http.get(f"{API}/runs/list", params=params)).raise_for_status().json()
            found += [int(run["run_id"]) for run in body.get("runs", [])]
            if not body.get("next_page_token"):
                return found
            params["page_token"] = body["next_page_token"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def summary(tally: Tally, ends: dict[int, str], listed: list[int],
            options: argparse.Namespace) -> dict[str, Any]:
    """The figures and the invariants, as the JSON `--json` writes."""
    endpoints = {
        name: {"requests": len(tally.latencies[name]),
               "statuses": {str(k): v for k, v in sorted(tally.statuses[name].items())},
               **{f"p{p}_ms": round(1000 * percentile(tally.latencies[name], p / 100), 1)
                  for p in (50, 95, 99)}}
        for name in sorted(tally.latencies)}
    lost = sorted(r for r in tally.runs if "/" not in ends.get(r, "missing"))
    listed_counts = Counter(listed)
    problems = []
    if tally.server_errors():
        problems.append(f"{tally.server_errors()} answers were 5xx")
    if tally.unanswered:
        problems.append(f"{sum(tally.unanswered.values())} requests got no answer: "
                        f"{dict(tally.unanswered)}")
    if lost:
        problems.append(f"{len(lost)} runs never ended or vanished: "
                        f"{ {r: ends.get(r, 'missing') for r in lost[:10]} }")
    if set(listed_counts) != tally.runs or any(n > 1 for n in listed_counts.values()):
        problems.append(f"runs/list differs from the runs started: missing "
                        f"{sorted(tally.runs - set(listed_counts))[:10]}, not started "
                        f"{sorted(set(listed_counts) - tally.runs)[:10]}, twice "
                        f"{sorted(r for r, n in listed_counts.items() if n > 1)[:10]}")
    failed = {r: e for r, e in ends.items() if "/" in e and e != "TERMINATED/SUCCESS"}
    if failed:  # its tasks are `true`: anything but success is the orchestrator's fault
        problems.append(f"{len(failed)} runs did not succeed: {dict(list(failed.items())[:10])}")
    if not tally.runs:
        problems.append("no run was started")
    return {"clients": options.clients, "sdk_clients": min(options.sdk, options.clients),
            "seconds": options.seconds, "db": options.db or "sqlite",
            "endpoints": endpoints, "overload_answers": sum(
                n for counts in tally.statuses.values()
                for status, n in counts.items() if status in OVERLOADED),
            "server_errors": tally.server_errors(), "unanswered": dict(tally.unanswered),
            "runs_started": len(tally.runs), "runs_ended": sum("/" in e for e in ends.values()),
            "ends": dict(Counter(ends.values())), "problems": problems}


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['clients']} clients ({result['sdk_clients']} through the databricks-sdk) "
          f"for {result['seconds']} s on {result['db'].split('://')[0]}\n")
    print(f"{'endpoint':<16}{'requests':>9}  {'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  statuses")
    for name, row in result["endpoints"].items():
        statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
        print(f"{name:<16}{row['requests']:>9}  {row['p50_ms']:>8}{row['p95_ms']:>8}"
              f"{row['p99_ms']:>8}  {statuses}")
    print(f"\nruns started {result['runs_started']}, ended {result['runs_ended']} "
          f"{result['ends']}; overload answers (429/503) {result['overload_answers']}; "
          f"5xx {result['server_errors']}; unanswered {sum(result['unanswered'].values())}")
    for problem in result["problems"]:
        print(f"FAILED: {problem}")
    print("all invariants held" if not result["problems"] else "")


async def load(url: str, tokens: list[str], options: argparse.Namespace) -> dict[str, Any]:
    admin = tokens[0]
    created = httpx.post(f"{url}{API}/create", json=job_settings(options.tasks),
                         headers={"Authorization": f"Bearer {admin}"}).raise_for_status()
    job_id = int(created.json()["job_id"])
    tally = Tally()
    until = time.monotonic() + options.seconds
    sdk = min(options.sdk, options.clients)
    clients: list[Awaitable[Any]] = [
        asyncio.to_thread(sdk_client, url, token, job_id, tally, until, options.poll)
        for token in tokens[:sdk]]
    clients += [http_client(url, token, job_id, tally, until, options.poll)
                for token in tokens[sdk:]]
    await asyncio.gather(*clients)
    ends = await wait_all_ended(url, admin, tally.runs, options.drain)
    return summary(tally, ends, await listed_runs(url, admin, job_id), options)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="clients at once")
    parser.add_argument("--sdk", type=int, default=4,
                        help="how many of them use the databricks-sdk")
    parser.add_argument("--seconds", type=float, default=60, help="how long runs are started")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--tasks", type=int, default=TASKS, help="trivial tasks in the job")
    parser.add_argument("--drain", type=float, default=600,
                        help="seconds to wait, after the load, for every run to end")
    parser.add_argument("--db", help="SQLAlchemy URL of an empty PostgreSQL database "
                                     "[default: a new SQLite file]")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    with tempfile.TemporaryDirectory(prefix="headwater-load-") as tmp:
        folder = Path(tmp)
        db_url = options.db or f"sqlite:///{folder / 'state.db'}"
        tokens = make_tokens(folder, db_url, options.clients)
        os.environ["DATABRICKS_CONFIG_FILE"] = str(folder / "none.databrickscfg")
        with running_server(folder, db_url) as url:
            result = asyncio.run(load(url, tokens, options))
    print_table(result)
    if options.json:
        options.json.write_text(json.dumps(result, indent=2))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
