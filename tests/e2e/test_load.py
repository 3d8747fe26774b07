"""`make load` in small: 20 clients (4 through the databricks-sdk) start and poll runs for 10 s
against a real `headwater server`, on SQLite and on PostgreSQL. The invariants are asserted
(no 5xx, every request answered, no run lost, the job's runs/list is exactly the runs
started), never a latency: the figures are printed for the reader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.load import Tally, summary

from tests.servers import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_twenty_clients_for_ten_seconds_lose_no_run_and_see_no_5xx(kind: str,
                                                                  tmp_path: Path) -> None:
    db = [] if kind == "sqlite" else ["--db", database_url(kind, tmp_path)]
    out = tmp_path / "load.json"

    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--clients",
                           "20", "--seconds", "10", "--json", str(out), *db],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)

    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["problems"] == []
    assert (result["server_errors"], result["unanswered"]) == (0, {})
    assert result["runs_started"] > 0
    assert result["ends"] == {"TERMINATED/SUCCESS": result["runs_started"]}
    for endpoint in ("run-now", "runs/get", "sdk run-now"):  # both kinds of client worked
        assert result["endpoints"][endpoint]["requests"] > 0


def test_the_invariants_catch_a_lost_run_a_5xx_and_a_run_listed_twice() -> None:
    tally = Tally(runs={1, 2, 3})
    tally.record("runs/get", 500, 0.1)
    tally.record("runs/get", 429, 0.1)  # an overload answer: counted, not a failure
    ends = {1: "TERMINATED/SUCCESS", 2: "missing", 3: "TERMINATED/FAILED"}
    options = type("Options", (), {"clients": 1, "sdk": 0, "seconds": 1, "db": None})()

    result = summary(tally, ends, [1, 1, 3, 4], options)  # type: ignore[arg-type]

    problems = "\n".join(result["problems"])
    assert "1 answers were 5xx" in problems
    assert "1 runs never ended or vanished: {2: 'missing'}" in problems
    assert "1 runs did not succeed: {3: 'TERMINATED/FAILED'}" in problems
    assert "missing [2], not started [4], twice [1]" in problems
    assert (result["overload_answers"], result["server_errors"]) == (1, 1)
    assert Counter(result["ends"]) == Counter(ends.values())
