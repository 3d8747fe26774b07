"""Following one run from the command line: drive it with an engine in this process (or watch
it while another engine drives it), show its tasks as they go, and say how it ended.

The first Ctrl-C or SIGTERM cancels the run (its cleanup tasks still run); a second leaves at
once, and the run's attempts keep running for the next engine to adopt.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.cancel_signals import CANCELLING, cancel_on_signals
from headwater.cli.terminal import printable

if TYPE_CHECKING:
    from headwater.bootstrap import App
    from headwater.core.runstate import RunState
    from headwater.ports import RunCreated



def follow(app: App, run_id: int, fence: int = 0, lines: bool = False,
           cancel_on: Collection[int] = CANCELLING, every_secret_scope: bool = True
           ) -> RunState:
    """Drive or watch `run_id` to its end, showing its progress; its final state.

    `fence` is the lease the run was created with, when this process holds it already.
    The first of `cancel_on` cancels the run, a second leaves at once (cancel_signals.py).
    The command line acts as an admin of its store, so the run's tasks read every secret
    scope, unless not `every_secret_scope` (then those the run's user may read).
    """
    from headwater.cli.display import LineDisplay, make_display

    display = LineDisplay(sys.stdout) if lines else make_display(sys.stdout)
    engine_here = app.engine(only={run_id}, observer=display,
                             every_secret_scope=every_secret_scope)
    with engine_here as engine, cancel_on_signals(
            engine.interrupted.set, f"run {run_id}", "stop at once, leaving its tasks running",
            cancel_on):
        try:
            if fence:
                engine.hold(run_id, fence)
            return engine.drive(run_id)
        finally:
            display.close()


def announce(service: Any, created: RunCreated, job_id: int, what: str) -> None:
    """Say that a run was started, queued (behind which runs) or skipped."""
    if created.life_cycle == "QUEUED":
        click.echo(queued_behind(service, created.run_id, job_id, what))
    elif created.life_cycle == "SKIPPED":
        click.echo(printable(f"Run {created.run_id} of {what} was skipped. {created.message}"))
    else:
        click.echo(f"Run {created.run_id} of {what} started")


def queued_behind(service: Any, run_id: int, job_id: int, what: str) -> str:
    """Which runs a queued run waits for, and what starts them when nothing drives them."""
    ahead = sorted(s.run_id for s in service.list_runs(job_id, 100, active_only=True).items
                   if s.life_cycle != "QUEUED")
    runs = ("run " if len(ahead) == 1 else "runs ") + ", ".join(str(r) for r in ahead)
    return (f"Run {run_id} of {what} is queued behind {runs} (max_concurrent_runs); it "
            "starts when one ends. If their `headwater run` was stopped, `headwater runs "
            f"resume {min(ahead, default=0)}` or `headwater engine` continues them.")


SHOWN_RESULT = 200  # characters of a notebook's exit value a run's summary shows


def print_results(service: Any, run_id: int) -> None:
    """The values notebooks exited with (a report's path, say), one line per task; a long
    one cut, saying where the whole value is."""
    for key, result in service.notebook_results(run_id).items():
        text = str(result).replace("\n", " ")
        if len(text) > SHOWN_RESULT:
            text = (f"{text[:SHOWN_RESULT]}... ({len(str(result)):,} characters in all: "
                    f"`headwater runs output` of its task run, in `headwater runs get {run_id}`,"
                    " shows them)")
        click.echo(f"{key}: {text}")
