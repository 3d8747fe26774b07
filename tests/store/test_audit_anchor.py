"""The audit chain against tampering by someone who can write the database: its head is
witnessed in an anchor file outside it, and every corruption is a verdict, not a traceback."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text, update
from store_builders import T0, at

from headwater.errors import StoreError
from headwater.store import SqlStore, open_store
from headwater.store.audit_anchor import AnchorFile
from headwater.store.ops_tables import audit_head, audit_log


@pytest.fixture
def anchor(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "audit-anchor.jsonl"


@pytest.fixture
def anchored(db_url: str, anchor: Path) -> Iterator[SqlStore]:
    opened = open_store(db_url, anchor_path=anchor)
    yield opened
    opened.close()


def grow(store: SqlStore, versions: int) -> None:
    """A job and `versions - 1` updates of it: one audit entry each."""
    job = store.create_job({"name": "v0", "tasks": []}, "a.yml", T0, "ann")
    for number in range(1, versions):
        store.update_job(job.job_id, {"name": f"v{number}", "tasks": []}, "a.yml", at(number),
                         "ann")


def test_the_head_is_witnessed_in_a_file_only_its_owner_can_read(
        anchored: SqlStore, anchor: Path) -> None:
    grow(anchored, 3)

    lines = anchor.read_text().splitlines()

    assert [line.split('"id": ')[1].split(",")[0] for line in lines] == ["1", "2", "3"]
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    assert anchored.verify_audit().ok


def test_a_log_cut_and_re_headed_inside_the_database_is_caught(
        anchored: SqlStore) -> None:
    grow(anchored, 5)
    last_kept = anchored.audit_entries()[2]
    with anchored.engine.begin() as conn:  # what someone with write access to the DB can do
        conn.execute(audit_log.delete().where(audit_log.c.entry_id > 3))
        conn.execute(update(audit_head).values(last_id=3, last_hash=last_kept.hash))

    report = anchored.verify_audit()

    assert (report.ok, report.first_bad) == (False, 4)
    assert "the anchor saw entry 5" in report.problem


def test_a_missing_head_row_is_a_verdict(anchored: SqlStore) -> None:
    grow(anchored, 2)
    with anchored.engine.begin() as conn:
        conn.execute(audit_head.delete())

    report = anchored.verify_audit()

    assert not report.ok
    assert "chain head row (audit_head) is missing" in report.problem


def test_an_entry_that_cannot_be_parsed_is_a_verdict_naming_it(anchored: SqlStore) -> None:
    grow(anchored, 3)
    with anchored.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = '{not json' WHERE entry_id = 2"))

    report = anchored.verify_audit()

    assert (report.ok, report.first_bad) == (False, 2)
    assert report.problem.startswith("entry 2 cannot be read: JSONDecodeError")


def test_an_altered_anchor_line_is_reported_and_a_torn_last_line_is_not(
        anchored: SqlStore, anchor: Path) -> None:
    grow(anchored, 2)
    with anchor.open("a") as handle:
        handle.write('{"db": "cut short by a crash')
    torn = anchored.verify_audit()
    anchor.write_text(anchor.read_text().replace('"id": 1', '"id": "one"', 1) + "\n")

    altered = anchored.verify_audit()

    assert torn.ok
    assert not altered.ok
    assert ":1: an anchor line that cannot be read" in altered.problem


def test_stores_sharing_one_anchor_file_read_only_their_own_lines(
        tmp_path: Path, anchor: Path) -> None:
    first = open_store(f"sqlite:///{tmp_path / 'one.db'}", anchor_path=anchor)
    second = open_store(f"sqlite:///{tmp_path / 'two.db'}", anchor_path=anchor)
    try:
        grow(first, 4)
        grow(second, 1)

        assert first.verify_audit().ok
        assert second.verify_audit().ok
        assert len(anchor.read_text().splitlines()) == 5
    finally:
        first.close()
        second.close()


def test_a_restart_sets_aside_what_the_anchor_saw_before_a_restore(
        db_url: str, anchor: Path, tmp_path: Path) -> None:
    # Given a log of 3 entries that grew to 5 (the anchor saw them), then was restored to 3
    anchored = open_store(db_url, anchor_path=anchor)
    grow(anchored, 3)
    restored_head = anchored.audit_entries()[-1]
    grow(anchored, 2)
    with anchored.engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.entry_id > 3))
        conn.execute(update(audit_head).values(last_id=3, last_hash=restored_head.hash))
    grow(anchored, 1)  # entry 4 again, not the one the anchor saw
    seen_before = AnchorFile(anchor, db_url).last_seen()
    refused = anchored.verify_audit()

    # When the witness restarts at the log's end
    AnchorFile(anchor, db_url).restart(4, anchored.audit_entries()[-1].hash)
    restarted = anchored.verify_audit()
    grow(anchored, 2)  # and the log grows on

    # Then only what it saw since counts, and it goes on witnessing
    assert not refused.ok and "is not the one the anchor saw" in refused.problem
    assert seen_before is not None and seen_before.entry_id == 5
    assert restarted.ok, restarted.problem
    assert anchored.verify_audit().ok
    last_seen = AnchorFile(anchor, db_url).last_seen()
    assert last_seen is not None and last_seen.entry_id == 6
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    anchored.close()


def test_a_restart_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")

    with pytest.raises(StoreError, match="cannot write the audit anchor"):
        AnchorFile(blocked / "audit-anchor.jsonl", "sqlite:///x.db").restart(1, "0" * 64)
