"""Real servers on loopback for the delivery tests: SMTP (aiosmtpd), HTTP sinks, a blackhole
that accepts connections and never answers, and a port where nothing listens."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from headwater.core.events import RunStarted, TaskFailed, TaskStarted
from headwater.core.machine import decide, initial_state
from headwater.core.notifications import RunContext, side_effects
from headwater.core.plan import build_plan
from headwater.core.spec import JobSettings
from headwater.store import SqlStore, open_store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOOPBACK = "127.0.0.1"


class FakeClock:
    """A clock the test steps."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class SmtpSink:
    """What an aiosmtpd server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def start_smtp(port: int) -> tuple[Controller, SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname=LOOPBACK, port=port)
    controller.start()
    return controller, sink


@pytest.fixture
def smtp() -> Iterator[tuple[int, SmtpSink]]:
    """An SMTP server on a loopback port."""
    port = free_port()
    controller, sink = start_smtp(port)
    yield port, sink
    controller.stop()


@pytest.fixture
def blackhole() -> Iterator[socket.socket]:
    """A listening socket that never accepts: connections succeed, nothing ever answers."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    yield listener
    listener.close()


@dataclass
class HttpSink:
    """An HTTP server that records POSTs and answers with scripted statuses (200 after)."""

    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    received: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hook"

    def delivered(self) -> list[Any]:
        return [body for status, _, body in self.received if status == 200]


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(sink.delay)
            status = sink.statuses.pop(0) if sink.statuses else 200
            sink.received.append((status, dict(self.headers), body))
            self.send_response(status)
            for name, value in sink.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'headwater.db'}")
    yield opened
    opened.close()


def failed_run(store: SqlStore, emails: list[str], hooks: list[str],
               task_emails: list[str] | None = None) -> int:
    """Store a run whose only task failed, with its on_failure alerts in the outbox (the
    task's own to `task_emails`)."""
    task: dict[str, Any] = {"task_key": "load", "max_retries": 0,
                            "shell_command_task": {"command": "false"}}
    if task_emails:
        task["email_notifications"] = {"on_failure": task_emails}
    body: dict[str, Any] = {
        "name": "etl",
        "tasks": [task],
        "email_notifications": {"on_failure": emails},
        "webhook_notifications": {"on_failure": [{"id": h} for h in hooks]},
    }
    job = store.create_job(body, "etl.yml", T0)
    settings = JobSettings.model_validate(body)
    plan = build_plan(settings)
    run_id = store.create_run(job, initial_state(plan), {}, "ONE_TIME", "ann", "/w", T0).run_id
    context = RunContext(run_id, job.job_id, job.name, "ann")
    state = initial_state(plan)
    for event in (
        RunStarted(T0),
        TaskStarted(T0, 1, "pid:1"),
        TaskFailed(T0 + timedelta(seconds=3), 1, "exit code 1", 1),
    ):
        decision = decide(state, event)
        effects = side_effects(settings, context, state, decision.state, decision.changed, event)
        store.record(
            run_id,
            0,
            event,
            decision.state,
            decision.changed,
            outbox=effects.outbox,
            audit=effects.audit,
        )
        state = decision.state
    return run_id
