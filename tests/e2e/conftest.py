"""End-to-end fixtures: the real CLI in a child process, in a fresh working directory."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from sqlalchemy.engine import URL, make_url

from tests.child_env import child_env
from tests.servers import Server, database_url

from .engines import Cluster

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A `headwater server` process on SQLite, in its own folder under tmp_path (a module
    that needs another store defines its own `server`)."""
    folder = tmp_path / "server"
    folder.mkdir()
    started = Server(folder, database_url("sqlite", folder)).start()
    yield started
    started.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """Engine processes and the CLI on one store: SQLite, then PostgreSQL when
    `HEADWATER_TEST_POSTGRES_URL` names one (skipped otherwise)."""
    found = Cluster(tmp_path, database_url(request.param, tmp_path))
    yield found
    found.stop_all()


def sdk_client(server: Server, token: str, monkeypatch: pytest.MonkeyPatch
               ) -> WorkspaceClient:
    """A databricks-sdk WorkspaceClient as a user would make one, with no profile or variable
    around."""
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(server.workdir / "no.databrickscfg"))
    return WorkspaceClient(config=Config(host=server.url, token=token,
                                         retry_timeout_seconds=30))


@pytest.fixture
def hw(tmp_path: Path) -> Cli:
    """Run `headwater ARGS...` in tmp_path; its state goes to tmp_path/.headwater."""
    env = child_env("DATABRICKS_")

    def run(*args: str, check: bool = False, timeout: float = 300,
            extra_env: dict[str, str] | None = None,
            cwd: Path | None = None, input: str | None = None,
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "headwater", *args], cwd=cwd or tmp_path,
                                env={**env, **(extra_env or {})}, capture_output=True,
                                text=True, timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"headwater {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    return run


def write_job(path: Path, tasks: list[dict[str, Any]], **job: Any) -> Path:
    path.write_text(json.dumps({"name": job.pop("name", "e2e"), "tasks": tasks, **job}))
    return path


def shell(key: str, command: str, *deps: str, env: dict[str, str] | None = None,
          **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"command": command, **({"env": env} if env else {})}
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "shell_command_task": payload, **fields}


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str, str]]:
    """A role of its own with a random password, owning a fresh schema of the test PostgreSQL
    database: (URL without password, password, schema); both dropped afterwards. (The test
    database's own role has a password that is also its name, which would be found in every
    log that names the user.)"""
    url = os.environ.get("HEADWATER_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set HEADWATER_TEST_POSTGRES_URL to run SQL tasks on PostgreSQL")
    import psycopg

    admin = make_url(url)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name, password = f"wh_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(12)}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        connection.execute(f"GRANT {name} TO {admin.username}")  # to make and drop its schema
        connection.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
    yield URL.create(admin.drivername, name, None, admin.host, admin.port,
                     admin.database).render_as_string(), password, name
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {name} CASCADE")
        connection.execute(f"DROP ROLE {name}")
