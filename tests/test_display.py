"""What `headwater run` shows: plain lines when piped, a live table on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from headwater.cli.display import LineDisplay, LiveDisplay
from headwater.cli.runs import print_task_run
from headwater.testing import Script, simulate
from tests.core.helpers import plan_of, task


def finished_run():  # type: ignore[no-untyped-def]
    plan = plan_of(task("extract"), task("load", "extract", max_retries=1), task("report", "load"))
    return simulate(plan, {"load": Script(("fail", "ok"))}).state


def test_lines_show_each_change_with_its_attempt_and_why() -> None:
    out = io.StringIO()
    display = LineDisplay(out)
    state = finished_run()
    display(state, sorted(state.task_runs), {})
    text = out.getvalue()
    assert "load [attempt 0] TERMINATED FAILED - scripted failure" in text
    assert "load [attempt 1] TERMINATED SUCCESS" in text
    assert text.count("\n") == len(state.task_runs)
    display(state, sorted(state.task_runs), {})  # nothing changed: nothing printed
    assert out.getvalue() == text


def test_the_live_table_has_a_row_per_task_with_state_attempt_and_duration() -> None:
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True)
    display = LiveDisplay(console)
    state = finished_run()
    display(state, [], {})
    display.close()
    printer = Console(record=True, width=120, file=io.StringIO())
    printer.print(display.render())
    table = printer.export_text()
    for key in ("extract", "load", "report"):
        assert key in table
    row = next(line for line in table.splitlines() if "load" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    # its second attempt, numbered as everywhere else (from 0)
    assert cells[:4] == ["load", "TERMINATED SUCCESS", "1", "1.0s"], row


def test_runs_get_shows_no_duration_for_an_attempt_still_running(
        capsys: pytest.CaptureFixture[str]) -> None:
    # The API says 0 while an attempt runs: shown as "-", not as "0.0s"
    state = {"life_cycle_state": "RUNNING", "state_message": ""}
    running = {"task_key": "slow", "attempt_number": 0, "state": state,
               "execution_duration": 0, "end_time": 0}
    ended = {**running, "task_key": "fast", "execution_duration": 1500, "end_time": 99,
             "state": {**state, "life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}}

    print_task_run(1, running, None, False)
    print_task_run(1, ended, None, False)

    slow, fast = capsys.readouterr().out.splitlines()
    assert slow.split()[-1] == "-" and fast.split()[-1] == "1.5s"
