"""Real `headwater server` processes for the API and SDK tests: started on a free loopback
port over a state store, called with plain HTTP (or the databricks-sdk), stopped with
SIGTERM or killed with SIGKILL, restarted on the same store.

The database is SQLite in the test's folder, or PostgreSQL when `HEADWATER_TEST_POSTGRES_URL`
is set and the test asks for it (the store is wiped first).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.bootstrap import application
from headwater.config import Settings
from tests.child_env import child_env

LEASE_SECONDS = 3  # short, so that a killed server's runs are taken over within a test
POSTGRES = os.environ.get("HEADWATER_TEST_POSTGRES_URL")


def clean_env(**extra: str) -> dict[str, str]:
    env = child_env("DATABRICKS_")
    return {**env, "HEADWATER_LEASE_SECONDS": str(LEASE_SECONDS), **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wipe_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS lakeflow CASCADE"))
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(kind: str, folder: Path) -> str:
    """A fresh store of `kind` ("sqlite" or "postgresql"): skips when PostgreSQL is not set."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'state.db'}"
    import pytest

    if not POSTGRES:
        pytest.skip("set HEADWATER_TEST_POSTGRES_URL to run the server on PostgreSQL")
    wipe_postgres(POSTGRES)
    return POSTGRES


@dataclass
class Reply:
    """An HTTP answer: status, headers (lower-case names) and the JSON body (or None)."""

    status: int
    headers: dict[str, str]
    body: Any
    text: str


@dataclass
class Server:
    """One `headwater server` process over `db_url`, run from `workdir`."""

    workdir: Path
    db_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    starts: int = 0
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # more variables for the server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"server-{self.port}-{self.starts}.log"

    def start(self, timeout: float = 60) -> Server:
        """Start the server (again, on the same port and store) and wait until it answers."""
        self.starts += 1
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "headwater", "server", "--port", str(self.port),
                 "--db", self.db_url, *self.extra_args],
                cwd=self.workdir, env=clean_env(**self.env), stdout=handle,
                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited {self.process.returncode}:\n"
                                     f"{self.log.read_text()}")
            try:
                if self.call("GET", "/.well-known/databricks-config").status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the server never answered:\n{self.log.read_text()}")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for it to exit; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the server's process group (the server and its spawner; every task runs
        in a session of its own and survives)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def settings(self) -> Settings:
        return Settings.from_env(clean_env(), self.workdir, db=self.db_url)

    def token(self, user: str, admin: bool = False) -> str:
        """A new token for `user`, made on the server's store (as `headwater tokens create`)."""
        with application(self.settings()) as app:
            return app.service.create_token(user, admin).token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             raw: bytes | None = None, headers: dict[str, str] | None = None,
             timeout: float = 60) -> Reply:
        """One request; `body` is sent as JSON (or `raw` as is)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (None if body is None else json.dumps(body))
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     parsed, text)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def wait_for(check: Any, timeout: float = 120, every: float = 0.2, what: str = "") -> Any:
    """Poll `check()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
