"""Where a command acts: the local state store (with an engine in this process when it follows
a run), or a `headwater server` (`--host`, `DATABRICKS_HOST`, a `~/.databrickscfg` profile),
whose engines drive the runs while the command watches them.

The commands that read the state store only (`audit`, `metrics`, `tokens`, ...) are marked
`store_on_this_machine`: with a server named in the environment they are refused unless a
store is named, so they never answer from an empty store made in the working directory.

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
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from headwater.cli.cancel_signals import cancel_on_signals
from headwater.cli.common import settings_for
from headwater.errors import InvalidRequest

if TYPE_CHECKING:
    from headwater.bootstrap import App
    from headwater.client.remote import RemoteService
    from headwater.core.runstate import RunState

F = TypeVar("F", bound=Callable[..., Any])
ENDED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
# How to do from here, through the server's API, what a command on its machine does.
SERVER_WAYS = {"secrets": "; from here, `databricks secrets ...` acts on the server's scopes "
                          "through its Secrets API"}


def store_on_this_machine(command: F) -> F:
    """Mark a command that reads (and would make) this machine's state store only: when the
    environment points the other commands at a server (`DATABRICKS_HOST`, a profile), it is
    refused unless a store is named (`--db`, `HEADWATER_DB`), rather than answering from an
    empty `.headwater/headwater.db` it makes in the working directory."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        takes_db = "db" in kwargs
        if not (kwargs["db"] if takes_db else os.environ.get("HEADWATER_DB")):
            refuse_if_server_named(command_name(click.get_current_context()), takes_db)
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def refuse_if_server_named(command: str, takes_db: bool) -> None:
    """`InvalidRequest` saying where to run `command` when the environment names a server."""
    from headwater.client.config import server_in_environment

    server = server_in_environment(os.environ, Path.home())
    if server is None:
        return
    store = "--db" if takes_db else "HEADWATER_DB"
    elsewhere = SERVER_WAYS.get(command.split()[1], "")
    raise InvalidRequest(f"`{command}` reads the state store on this machine, but "
                         f"{server.variable} points at a server ({server.host}): run it on the "
                         f"server's machine (with {store} there), or unset {server.variable}"
                         f"{elsewhere}")


def command_name(context: click.Context) -> str:
    """`headwater audit list`, however the program was started (`python -m headwater`)."""
    names: list[str] = []
    while context.parent is not None:
        names.insert(0, context.info_name or "")
        context = context.parent
    return " ".join(["headwater", *names])


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
