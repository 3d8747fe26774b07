"""A restored backup and the audit log, through the real CLI on SQLite: `audit verify` cannot
tell a restore from a log cut short, `audit reanchor` records the restore and moves the
anchor, and refuses a chain that was edited (that is tampering, not a restore)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, shell, write_job


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup (what `sqlite3 db ".backup x"` does), here to back up and to
    restore."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def audit_entries(hw: Cli) -> list[dict[str, Any]]:
    listed = hw("audit", "list", "--json", check=True).stdout.splitlines()
    return [json.loads(line) for line in listed]


def test_a_restore_is_tampering_to_verify_until_it_is_reanchored(hw: Cli, tmp_path: Path
                                                                  ) -> None:
    # Given a store backed up after a run, which ran again before the backup was restored
    job = write_job(tmp_path / "job.json", [shell("a", "echo a")], name="audited")
    database = tmp_path / ".headwater" / "headwater.db"
    hw("run", str(job), check=True)
    copy_database(database, tmp_path / "backup.db")
    backed_up = audit_entries(hw)[-1]["id"]
    hw("run", str(job), check=True)
    seen = audit_entries(hw)[-1]["id"]
    copy_database(tmp_path / "backup.db", database)

    # When the audit log is verified, re-anchored, verified again and written on
    before = hw("audit", "verify")
    reanchored = hw("audit", "reanchor", "--reason", "restored the 02:00 backup")
    after = hw("audit", "verify")
    hw("run", str(job), check=True)
    later = hw("audit", "verify")

    # Then the restore looked like a log cut short, until it was recorded
    assert before.returncode == 1
    assert f"the anchor saw entry {seen}" in before.stderr
    assert reanchored.returncode == 0, reanchored.stderr
    assert f"re-anchored at entry {backed_up + 1} (the anchor had seen entry {seen})" in \
        reanchored.stdout
    assert after.returncode == 0, after.stderr
    assert f"re-anchored at entry {backed_up + 1} (" in after.stdout
    assert "restored the 02:00 backup" in after.stdout
    assert later.returncode == 0, later.stderr
    # and the log itself says who recorded the restore, why, and what each side had seen
    (record,) = [e for e in audit_entries(hw) if e["action"] == "audit.reanchored"]
    assert record["id"] == backed_up + 1
    assert record["details"]["reason"] == "restored the 02:00 backup"
    assert record["details"]["log_last_entry"]["id"] == backed_up
    assert record["details"]["anchor_last_entry"]["id"] == seen


def test_a_chain_edited_by_hand_is_not_reanchored(hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "echo a")], name="audited")
    hw("run", str(job), check=True)
    anchor = tmp_path / ".headwater" / "audit-anchor.jsonl"
    witnessed = anchor.read_text()
    with sqlite3.connect(tmp_path / ".headwater" / "headwater.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE entry_id = 2")
    conn.close()

    refused = hw("audit", "reanchor", "--reason", "covering my tracks")

    assert refused.returncode == 1
    assert refused.stderr.startswith("error: the audit log's hash chain itself is broken "
                                     "(entry 2: its content does not match its hash"), \
        refused.stderr
    assert "not a restore, so it is not re-anchored" in refused.stderr
    assert anchor.read_text() == witnessed
    assert hw("audit", "verify").returncode == 1
    with sqlite3.connect(tmp_path / ".headwater" / "headwater.db") as conn:
        recorded = conn.execute("SELECT count(*) FROM audit_log "
                                "WHERE action = 'audit.reanchored'").fetchone()
    conn.close()
    assert recorded == (0,)


def test_verify_from_a_home_without_the_anchor_says_only_the_chain_was_checked(
        hw: Cli, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", [shell("a", "echo a")], name="audited")
    hw("run", str(job), check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    here = hw("audit", "verify")
    there = hw("audit", "verify", "--db", str(tmp_path / ".headwater" / "headwater.db"),
               cwd=elsewhere)

    assert here.returncode == 0 and "note:" not in here.stdout
    assert there.returncode == 0, there.stderr
    assert (f"note: this home ({elsewhere / '.headwater'}) holds no audit anchor for this "
            f"store ({elsewhere / '.headwater' / 'audit-anchor.jsonl'}), so only the hash "
            "chain was checked") in there.stdout
    assert "The anchor lives in the HEADWATER_HOME of the engines and server that write " \
        "this store" in there.stdout
