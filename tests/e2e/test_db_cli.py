"""`headwater db status` and `headwater db upgrade` through the real CLI, on SQLite and (when
`HEADWATER_TEST_POSTGRES_URL` is set) PostgreSQL; and who else may upgrade a store that lags:
any command on SQLite, none but `db upgrade` on PostgreSQL.

A store that lags is made as an older headwater left it: Alembic takes it one revision back
from this headwater's head (whatever that is when the test runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text

from headwater.store.engine import create_store_engine
from headwater.store.migrate import HEAD_REVISION, MIGRATIONS_DIR
from tests.e2e.conftest import Cli
from tests.servers import database_url

PREVIOUS = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(HEAD_REVISION).down_revision


def set_back(url: str) -> None:
    """Take the store one revision back, as the headwater before this one left it."""
    engine = create_store_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    engine.dispose()


def set_revision(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_db_status_tells_by_its_exit_code_whether_the_store_is_at_head(
        hw: Cli, tmp_path: Path, kind: str) -> None:
    url = database_url(kind, tmp_path)
    # Given a new store, then one at head, then one an older headwater left, then a newer's
    new = hw("db", "status", "--db", url)
    created = hw("db", "upgrade", "--db", url, check=True)
    at_head = hw("db", "status", "--db", url)
    set_back(url)
    behind = hw("db", "status", "--db", url)
    upgraded = hw("db", "upgrade", "--db", url, check=True)
    again = hw("db", "upgrade", "--db", url, check=True)
    set_revision(url, "9999")
    newer = hw("db", "status", "--db", url)
    not_upgraded = hw("db", "upgrade", "--db", url)

    # Then status exits 0 at head, 1 when an upgrade is due, 2 when it cannot bring it there
    assert (new.returncode, at_head.returncode, behind.returncode, newer.returncode) == (
        1, 0, 1, 2), (new, at_head, behind, newer)
    shown = make_url(url).render_as_string(hide_password=True)
    assert f"state store: {shown}" in at_head.stdout
    assert "revision:    none" in new.stdout and f"pending:     {HEAD_REVISION}: " in new.stdout
    assert f"revision:    {HEAD_REVISION}\n" in at_head.stdout
    assert f"needed:      {HEAD_REVISION}" in at_head.stdout and "pending" not in at_head.stdout
    assert f"revision:    {PREVIOUS}\n" in behind.stdout
    assert [line for line in behind.stdout.splitlines() if line.startswith("pending")] == [
        f"pending:     {HEAD_REVISION}: " + ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(
            HEAD_REVISION).doc]
    assert "a newer headwater wrote it" in newer.stderr and "Traceback" not in newer.stderr
    # and upgrade says what it did, or that there was nothing to do
    assert created.stdout == f"revision none -> {HEAD_REVISION}\n"
    assert upgraded.stdout == f"revision {PREVIOUS} -> {HEAD_REVISION}\n"
    assert again.stdout == f"already at {HEAD_REVISION}\n"
    assert not_upgraded.returncode == 1 and "a newer headwater wrote it" in not_upgraded.stderr


def test_any_command_upgrades_a_sqlite_store_that_lags_and_says_so(hw: Cli,
                                                                   tmp_path: Path) -> None:
    url = database_url("sqlite", tmp_path)
    hw("db", "upgrade", "--db", url, check=True)
    set_back(url)

    listed = hw("runs", "list", "--db", url)

    assert listed.returncode == 0, listed.stderr
    assert f"from revision {PREVIOUS} to {HEAD_REVISION}" in listed.stderr
    assert hw("db", "status", "--db", url).returncode == 0


def test_a_postgresql_store_that_lags_is_refused_by_every_command_but_db_upgrade(
        hw: Cli, tmp_path: Path) -> None:
    url = database_url("postgresql", tmp_path)
    hw("db", "upgrade", "--db", url, check=True)
    set_back(url)

    # When a command other than `headwater db` opens it
    refused = hw("runs", "list", "--db", url)
    status = hw("db", "status", "--db", url)
    # and then the operator upgrades it on purpose
    upgraded = hw("db", "upgrade", "--db", url)
    listed = hw("runs", "list", "--db", url)

    # Then the command was refused, naming the store without its password, the revisions and
    # the way out, and the store was left as it was until the upgrade
    assert refused.returncode == 1
    shown = make_url(url).render_as_string(hide_password=True)
    assert refused.stderr.startswith(f"error: the state store {shown} has schema revision "
                                     f"{PREVIOUS}, older than the {HEAD_REVISION} this headwater "
                                     "needs"), refused.stderr
    assert f":{make_url(url).password}@" not in refused.stderr
    assert "back it up first (docs/guide/operations.md)" in refused.stderr
    assert "stop the engines and servers of older headwater versions" in refused.stderr
    assert "run `headwater db upgrade --db URL`" in refused.stderr
    assert status.returncode == 1 and f"revision:    {PREVIOUS}\n" in status.stdout
    assert upgraded.stdout == f"revision {PREVIOUS} -> {HEAD_REVISION}\n", upgraded.stderr
    assert listed.returncode == 0, listed.stderr
