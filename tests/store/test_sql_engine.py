"""SQLite connection setup: pragmas, the write lock taken at BEGIN, sharing one file."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from store_builders import SETTINGS, T0

from headwater.errors import StoreLost
from headwater.store import SqlStore, open_store


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_opening_creates_the_directory_and_sets_the_pragmas(sqlite_url: str) -> None:
    assert not sqlite_path(sqlite_url).parent.exists()

    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}
    store.close()

    assert sqlite_path(sqlite_url).is_file()
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30000,
                       "foreign_keys": 1}  # synchronous 1 is NORMAL


def test_the_state_file_its_wal_and_its_folder_are_its_owner_s_only(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    store.create_job(SETTINGS, "a.yml", T0)  # a write: the WAL and shared memory exist now
    path = sqlite_path(sqlite_url)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode)
             for p in (path, path.with_name(path.name + "-wal"), path.parent)}
    store.close()

    assert modes == {path.name: 0o600, f"{path.name}-wal": 0o600, path.parent.name: 0o700}


def test_a_state_file_replaced_or_removed_under_a_store_stops_every_use(
        sqlite_url: str, tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    path = sqlite_path(sqlite_url)
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    other.close()
    os.replace(tmp_path / "other.db", path)  # a restore from backup, under a running store

    with pytest.raises(StoreLost, match="was replaced by another file"):
        store.create_job(SETTINGS, "a.yml", T0)
    path.unlink()
    with pytest.raises(StoreLost, match="was removed while this process used it"):
        store.list_jobs()
    store.close()


def test_a_write_transaction_holds_the_write_lock_from_begin(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    other = sqlite3.connect(sqlite_path(sqlite_url), timeout=0, isolation_level=None)
    try:
        with store.engine.begin() as conn:
            # Nothing written yet: only BEGIN IMMEDIATE can be holding the lock.
            assert conn.execute(text("SELECT 1")).scalar() == 1
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
            # A reader is not blocked by the writer in WAL mode.
            assert store.list_jobs() == []
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        store.close()


def test_a_second_store_on_the_same_database_sees_the_data(store: SqlStore,
                                                           db_url: str) -> None:
    saved = store.create_job(SETTINGS, "a.yml", T0)
    second = open_store(db_url)
    try:
        assert second.get_job(saved.job_id) == saved
        newer = second.update_job(saved.job_id, {**SETTINGS, "timeout_seconds": 5}, "a.yml", T0,
                                  "ann")
        assert store.get_job(saved.job_id) == newer
    finally:
        second.close()


def test_integrity_check_reports_ok(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    store.create_job(SETTINGS, "a.yml", T0)

    assert store.integrity_check() == "ok"
    store.close()
