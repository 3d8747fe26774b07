"""How `headwater run` shows a run while it goes: a live table on a terminal, lines otherwise.

Rich is imported only here, and only when a terminal asks for the live table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from headwater.cli.terminal import printable
from headwater.core.runstate import RunState, TaskRun
from headwater.core.waiting import waiting_message


class Display(Protocol):
    """Called after every decision with the new state; closed when the run ends."""

    def __call__(self, state: RunState, changed: Sequence[int],
                 ids: Mapping[int, int]) -> None: ...

    def close(self) -> None: ...


def describe(run: TaskRun) -> str:
    """`RUNNING`, or `TERMINATED SUCCESS` once it ended."""
    return f"{run.life_cycle} {run.result}" if run.result else str(run.life_cycle)


def elapsed(run: TaskRun, now: datetime) -> str:
    if run.start_time is None:
        return ""
    seconds = ((run.end_time or now) - run.start_time).total_seconds()
    return f"{seconds:.1f}s"


class LineDisplay:
    """Prints one line per task-run change: for logs, CI and pipes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.seen: dict[int, str] = {}

    def __call__(self, state: RunState, changed: Sequence[int],
                 ids: Mapping[int, int]) -> None:
        for seq in changed:
            run = state.task_runs[seq]
            if run.parent_seq is not None and (run.result is None or run.result.is_success):
                continue  # iterations: only their failures, or thousands of lines would scroll
            text = describe(run)
            if run.loop is not None and run.result is None:
                text = f"{text} ({run.loop.done}/{run.loop.total} iterations)"
                if run.loop.done % max(1, run.loop.total // 10):
                    continue  # a progress line every tenth of the loop
            if self.seen.get(seq) == text:
                continue
            self.seen[seq] = text
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            detail = f" - {printable(run.message)}" if run.result and run.message else ""
            print(f"{stamp} {run.task_key} [attempt {run.attempt_number}] {text}{detail}",
                  file=self.out, flush=True)

    def close(self) -> None:
        """Nothing to tear down."""


class LiveDisplay:
    """A live table of tasks: state, attempt and duration, redrawn at most 8 times a second.
    Attempts count from 0, as in the lines, `runs get` and the Jobs API."""

    def __init__(self, console: Any = None) -> None:
        from rich.live import Live

        self.state: RunState | None = None
        self.live = Live(refresh_per_second=8, get_renderable=self.render, console=console)
        self.live.start()

    def __call__(self, state: RunState, changed: Sequence[int],
                 ids: Mapping[int, int]) -> None:
        self.state = state

    def render(self) -> Any:
        from rich.table import Table

        table = Table("task", "state", "attempt", "duration", "message")
        if self.state is None:
            return table
        now = datetime.now(UTC)
        for key in self.state.plan.order:
            run = self.state.latest_run(key)
            if run is not None:
                progress = f" {run.loop.done}/{run.loop.total}" if run.loop else ""
                table.add_row(key, describe(run) + progress, str(run.attempt_number),
                              elapsed(run, now),
                              printable(waiting_message(self.state, run)[:60]))
        return table

    def close(self) -> None:
        self.live.stop()


def make_display(out: TextIO) -> Display:
    """The live table when `out` is a terminal, plain lines otherwise."""
    return LiveDisplay() if out.isatty() else LineDisplay(out)
