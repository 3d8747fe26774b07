"""Fixtures for the SQL store tests: a real database, a plan, a saved job.

`db_url` runs each test on a SQLite file in tmp_path and, when
`HEADWATER_TEST_POSTGRES_URL` names a PostgreSQL database (`postgresql+psycopg://...`, which
the tests wipe), on PostgreSQL too. `sqlite_url` is for the tests of SQLite's own setup; `leased` is a store whose leases are
measured on `clock`, a fake one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from store_builders import SETTINGS, T0

from headwater.core.plan import Plan, build_plan
from headwater.core.spec import JobSettings
from headwater.ports import JobRecord
from headwater.store import SqlStore, open_store
from headwater.testing import FakeClock

POSTGRES_URL_VARIABLE = "HEADWATER_TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'headwater.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run the store tests on PostgreSQL")
    wipe_postgres(url)
    return url


def wipe_postgres(url: str) -> None:
    """Drop every table of the test database."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    opened = open_store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def leased(db_url: str, clock: FakeClock) -> Iterator[SqlStore]:
    """A store whose leases (and engines' signs of life) are measured on a fake clock."""
    opened = open_store(db_url, lease_clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def plan() -> Plan:
    return build_plan(JobSettings.model_validate(SETTINGS))


@pytest.fixture
def job(store: SqlStore) -> JobRecord:
    return store.create_job(SETTINGS, "jobs/etl.yml", T0)
