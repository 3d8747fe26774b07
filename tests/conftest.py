"""What every test shares: with pytest-xdist (`make test` runs two workers), each worker has a
PostgreSQL database of its own.

The PostgreSQL tests wipe the database named by `HEADWATER_TEST_POSTGRES_URL` before they
start, so two of them cannot share one. A worker (`PYTEST_XDIST_WORKER`, `gw0`, `gw1`, ...)
makes `<database>_<worker>` afresh beside the one named, which its role must be allowed to do
(`CREATEDB`, as `.ci/run` grants), and points the variable at it as this file is imported:
pytest imports it before the conftest files below it, and those import helpers that read the
variable as they are imported (`tests/servers.py`); a `pytest_configure` hook would come after
them when the command line names a test file below `tests/`. The tests' own processes inherit
the variable.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_URL_VARIABLE = "HEADWATER_TEST_POSTGRES_URL"


def use_a_database_of_the_worker() -> None:
    """In a pytest-xdist worker, point the variable at the worker's own database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if worker and url:
        os.environ[POSTGRES_URL_VARIABLE] = worker_database(url, worker)


def worker_database(url: str, worker: str) -> str:
    """A fresh database for `worker` beside the one of `url`, made by `url`'s role: its URL."""
    from sqlalchemy import create_engine, make_url, text

    named = make_url(url)
    own = f"{named.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # FORCE: a process of an earlier, killed session may still hold a connection.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{own}"'))
    except Exception as error:
        raise pytest.UsageError(
            f"{POSTGRES_URL_VARIABLE}: pytest worker {worker} could not make its own "
            f"database {own!r} beside {named.database!r} ({error}); give the role "
            f"{named.username!r} CREATEDB (ALTER ROLE {named.username} CREATEDB), or run "
            "the tests without -n") from error
    finally:
        engine.dispose()
    return named.set(database=own).render_as_string(hide_password=False)


use_a_database_of_the_worker()
