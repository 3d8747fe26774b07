"""One chaos round's world: a fresh store, engines, a job whose tasks write a ledger, alert
receivers on loopback, and canary secrets that must never be written down."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.bootstrap import application
from headwater.config import Settings
from tests.chaos.servers import AcceptingSmtp, RefusingSmtp, WebhookSink
from tests.e2e.engines import LEDGER_TASK, Cluster, clean_env
from tests.servers import wipe_postgres

TASKS = 6


@dataclass
class World:
    """Everything a round touches; `close` leaves nothing running."""

    backend: str
    workdir: Path
    cluster: Cluster
    sink: WebhookSink
    smtp: AcceptingSmtp | RefusingSmtp
    canaries: dict[str, str]
    job_id: int = 0
    runs: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # what the CLI printed, for the canaries
    # An engine was killed, frozen or had its store fail: a delivery it made may not have
    # been recorded, so it may be sent again (at least once; receivers drop it by its key).
    interrupted: bool = False
    # Checks that the round's fault did bite (an engine killed while it held runs, a store
    # error in an engine's log...): a round whose fault missed proves nothing.
    evidence: list[Callable[[], str]] = field(default_factory=list)
    _servers: list[Any] = field(default_factory=list)

    @property
    def ledger(self) -> Path:
        return self.workdir / "ledger"

    def cli(self, *args: str, check: bool = True) -> str:
        result = self.cluster.cli(*args, check=check)
        self.outputs.append(result.stdout + result.stderr)
        return result.stdout

    def start_runs(self, count: int) -> list[int]:
        settings = Settings.from_env(clean_env(**self.cluster.env), self.workdir,
                                     db=self.cluster.db_url)
        with application(settings) as app:
            started = [app.service.run_now(self.job_id).run_id for _ in range(count)]
        self.runs += started
        return started

    def engine_logs(self) -> str:
        return "\n".join(e.log.read_text(errors="replace") for e in self.cluster.engines)

    def close(self) -> None:
        self.cluster.stop_all()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self.smtp.stop()


def make_world(base: Path, backend: str, postgres: str | None, *, refuse_smtp: bool = False,
               hang_webhook: int = 0, daemons: bool = False) -> World:
    """A fresh world under `base` (SQLite in it, or the wiped PostgreSQL database)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{backend}-", dir=base))
    workdir.chmod(0o755)  # a round may run an engine as another user (read-only store)
    if backend == "postgresql":
        assert postgres, "PostgreSQL rounds need HEADWATER_TEST_POSTGRES_URL"
        wipe_postgres(postgres)
        url = postgres
    else:
        url = f"sqlite:///{workdir / 'state.db'}"
    sink = WebhookSink(hang=hang_webhook, hang_seconds=2.5)
    server = sink.start()
    smtp: AcceptingSmtp | RefusingSmtp = RefusingSmtp() if refuse_smtp else AcceptingSmtp()
    token = secrets.token_hex(6)
    canaries = {"CHAOS_HOOK_URL": f"http://127.0.0.1:{sink.port}/hook/canary-path-{token}",
                "CHAOS_HOOK_AUTH": f"Bearer canary-auth-{token}",
                "CHAOS_SMTP_PASSWORD": f"canary-smtp-{token}"}
    (workdir / "headwater.yml").write_text(_config(smtp.port))
    env = {**canaries, "HEADWATER_CONFIG": str(workdir / "headwater.yml")}
    world = World(backend, workdir, Cluster(workdir, url, env=env), sink, smtp, canaries,
                  _servers=[server])
    job = workdir / "job.json"
    tasks = daemon_tasks(str(workdir)) if daemons else None
    job.write_text(json.dumps(_job(world.ledger, tasks)))
    world.job_id = int(world.cli("jobs", "create", str(job)).strip())
    return world


def _config(smtp_port: int) -> str:
    # A login only over TLS (smtplib refuses it in the clear): the password is still a
    # configured secret, which no task, log or table may show.
    return f"""\
smtp: {{host: 127.0.0.1, port: {smtp_port}, password_env: CHAOS_SMTP_PASSWORD,
        timeout_seconds: 2}}
destinations:
  hook: {{type: webhook, url_env: CHAOS_HOOK_URL, header_env: {{Authorization: CHAOS_HOOK_AUTH}},
         timeout_seconds: 1}}
delivery: {{max_attempts: 3, base_delay_seconds: 0.2, max_delay_seconds: 1}}
logs: {{max_bytes_per_attempt: 1048576}}
"""


def _job(ledger: Path, tasks: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A chain of ledger tasks (the first prints its environment, for the canaries), alerts
    on start (e-mail) and success (webhook), ten runs at once."""
    command = LEDGER_TASK.format(seconds=0.6, ledger=ledger)
    chain = [{"task_key": f"t{i:02d}", "shell_command_task": {
        "command": ("env | sort; " if i == 0 else "") + command},
        "depends_on": [] if i == 0 else [{"task_key": f"t{i - 1:02d}"}]}
        for i in range(TASKS)]
    return {"name": "chaos", "max_concurrent_runs": 10, "tasks": tasks or chain,
            "email_notifications": {"on_start": ["ops@example.com"]},
            "webhook_notifications": {"on_success": [{"id": "hook"}],
                                      "on_failure": [{"id": "hook"}]}}


# A task that leaves a daemon (double fork, setsid, no environment, SIGTERM ignored) and one
# that ignores SIGTERM until the grace ends: both trees must be gone when the run ends.


def daemon_command(mark: str) -> str:
    """Double fork, setsid, no environment, SIGTERM ignored; `mark` in its command line."""
    inner = (f"trap '' TERM HUP; echo $$ >> {shlex.quote(mark)}/daemons; "
             f"exec {sys.executable} -c 'import time; time.sleep(300)' {shlex.quote(mark)}")
    daemon = f"setsid /bin/sh -c {shlex.quote(inner)} &"
    return f"env -i /bin/sh -c {shlex.quote(daemon)}; sleep 0.2"


STUBBORN = "trap '' TERM; while true; do sleep 0.1; done"


def daemon_tasks(mark: str) -> list[dict[str, Any]]:
    return [
        {"task_key": "t00", "shell_command_task": {"command": daemon_command(mark)}},
        {"task_key": "stubborn", "depends_on": [{"task_key": "t00"}], "timeout_seconds": 4,
         "shell_command_task": {"command": STUBBORN}},
    ]


def remove_world(world: World) -> None:
    shutil.rmtree(world.workdir, ignore_errors=True)


def as_other_user() -> list[str]:
    """A command prefix that runs a process as `nobody` (as root), else nothing."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
        if os.geteuid() == 0 else []
