"""Where a command acts: the local state store (with an engine in this process when it follows
a run), or a `headwater server` (`--host`, `DATABRICKS_HOST`, a `~/.databrickscfg` profile),
whose engines drive the runs while the command watches them.

Both connections offer `service` (the same calls, see `headwater.client.remote`) and
`follow(run_id)`, which ends with how the run (or its latest repair) ended.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from headwater.cli.cancel_signals import cancel_on_signals
from headwater.cli.common import settings_for

if TYPE_CHECKING:
    from headwater.bootstrap import App
    from headwater.client.remote import RemoteService
    from headwater.core.runstate import RunState

F = TypeVar("F", bound=Callable[..., Any])
ENDED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def server_options(command: F) -> F:
    """`--host` and `--profile`: act on a server instead of the local state store."""
    command = click.option("-p", "--profile", metavar="NAME",  # `-p` as the Databricks CLI's
                           help="A profile of ~/.databrickscfg naming the server and token.")(
        command)
    return click.option("--host", metavar="URL",
                        help="A headwater server to act on (or DATABRICKS_HOST); the token "
                             "comes from DATABRICKS_TOKEN or the profile.")(command)


@dataclass(frozen=True, slots=True)
class Ending:
    """How a followed run ended: for the last lines a command prints."""

    what: str  # "Run 7" or "Repair 2 of run 7"
    result: str | None
    message: str
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.result in ("SUCCESS", "SUCCESS_WITH_FAILURES")


def ending_of_state(run_id: int, state: RunState) -> Ending:
    started = state.repairs[-1].start_time if state.repairs else state.start_time
    seconds = (state.end_time - started).total_seconds() if state.end_time and started else 0.0
    what = f"Repair {state.repair_count} of run {run_id}" if state.repairs else f"Run {run_id}"
    return Ending(what, None if state.result is None else str(state.result), state.message,
                  seconds)


def ending_of_document(run_id: int, document: Mapping[str, Any]) -> Ending:
    state = document["state"]
    history = document.get("repair_history") or []
    span = history[-1] if len(history) > 1 else document
    seconds = max(0, span.get("end_time", 0) - span.get("start_time", 0)) / 1000
    what = f"Repair {len(history) - 1} of run {run_id}" if len(history) > 1 else f"Run {run_id}"
    return Ending(what, state.get("result_state"), state.get("state_message", ""), seconds)


@dataclass
class LocalConnection:
    """The local state store; following a run drives it with an engine in this process."""

    app: App

    @property
    def service(self) -> Any:
        return self.app.service

    def follow(self, run_id: int, fence: int = 0, lines: bool = False,
               repair_id: int | None = None) -> Ending:
        from headwater.cli.follow import follow

        return ending_of_state(run_id, follow(self.app, run_id, fence, lines))


@dataclass
class RemoteConnection:
    """A server: its engines drive runs; following one watches its documents."""

    service: RemoteService
    poll_seconds: float = 1.0

    def follow(self, run_id: int, fence: int = 0, lines: bool = False,
               repair_id: int | None = None) -> Ending:
        """Print each task's changes until the run (and the repair asked, if any) ended;
        the first Ctrl-C or SIGTERM cancels the run, a second stops watching."""
        printer = DocumentLines()
        with cancel_on_signals(lambda: self.service.cancel_any(run_id, None), f"run {run_id}",
                               "stop watching"):
            while True:
                document = self.service.run_document(run_id)
                printer.show(document)
                if _ended(document, repair_id):
                    return ending_of_document(run_id, document)
                time.sleep(self.poll_seconds)


def _ended(document: Mapping[str, Any], repair_id: int | None) -> bool:
    if document["state"]["life_cycle_state"] not in ENDED:
        return False
    history = document.get("repair_history") or []
    return repair_id is None or any(entry.get("id") == repair_id for entry in history)


class DocumentLines:
    """One line per change of a task run, from `Run` documents (as `LineDisplay` prints)."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}

    def show(self, document: Mapping[str, Any]) -> None:
        for task in document.get("tasks", []):
            state = task["state"]
            text = " ".join(filter(None, (state["life_cycle_state"],
                                          state.get("result_state"))))
            if self.seen.get(task["run_id"]) == text:
                continue
            self.seen[task["run_id"]] = text
            message = state.get("state_message") if state.get("result_state") else ""
            detail = f" - {message}" if message else ""
            stamp = time.strftime("%H:%M:%S", time.gmtime())
            click.echo(f"{stamp} {task['task_key']} [attempt {task['attempt_number']}] "
                       f"{text}{detail}")


@contextmanager
def connect(db: str | None, host: str | None = None, profile: str | None = None
            ) -> Iterator[LocalConnection | RemoteConnection]:
    """The local state store, or the server the options and environment name."""
    from headwater.client.config import remote_from

    remote = remote_from(host, profile, os.environ, Path.home())
    if remote is None:
        from headwater.bootstrap import application

        with application(settings_for(db)) as app:
            yield LocalConnection(app)
        return
    from headwater.client.http import Api
    from headwater.client.remote import RemoteService

    yield RemoteConnection(RemoteService(Api(remote)))


def finish(ending: Ending, run_id: int) -> None:
    """Print how the run (or its latest repair) ended; exit 1 unless it succeeded."""
    click.echo(f"{ending.what} ended {ending.result} in {ending.seconds:.1f}s")
    if not ending.succeeded:
        click.echo(f"  {ending.message}")
        click.echo(f"  details: headwater runs get {run_id}")
        sys.exit(1)
