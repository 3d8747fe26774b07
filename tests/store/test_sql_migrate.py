"""Alembic migrations: the head revision, idempotence, schema drift, lazy import."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from headwater.store import SqlStore, open_store
from headwater.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision
from headwater.store.tables import metadata


def alembic_config(store: SqlStore) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def test_the_head_constant_is_alembics_head(store: SqlStore) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(store))

    assert scripts.get_current_head() == HEAD_REVISION


def test_the_migrated_schema_matches_the_tables_module(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []


def test_migrating_again_changes_nothing(store: SqlStore, db_url: str) -> None:
    with store.engine.connect() as conn:
        tables_before = sorted(inspect(conn).get_table_names())

    open_store(db_url).close()
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        assert sorted(inspect(conn).get_table_names()) == tables_before
    assert "task_runs" in tables_before and "alembic_version" in tables_before


def test_downgrade_to_base_and_back(store: SqlStore) -> None:
    config = alembic_config(store)
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    with store.engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]
        assert current_revision(conn) is None
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert store.list_jobs() == []


def test_opening_a_store_at_head_does_not_import_alembic(store: SqlStore, db_url: str) -> None:
    script = (
        "import sys\n"
        "from headwater.store import open_store\n"
        f"open_store({db_url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)

    assert result.stdout.strip() == "False"
