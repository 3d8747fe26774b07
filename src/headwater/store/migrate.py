"""Schema migrations: bring a database to the newest Alembic revision, cheaply when it is.

The Alembic scripts live in `store/migrations/` inside the package; no alembic.ini is needed.
Alembic (and Mako) cost about half a second to import, so they are imported only when the
database actually lags behind: opening a store that is already at `HEAD_REVISION` reads one
row and imports nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from headwater.errors import StoreError
from headwater.store.engine import READ_ONLY

# The newest revision in migrations/versions; a test checks it against Alembic's own view.
HEAD_REVISION = "0011"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for a database Alembic never touched."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade_to_head(engine: Engine, where: str, *, may_write: bool = True) -> None:
    """Run the pending revisions, if any (`where` names the database in messages).

    Raises:
        StoreError: when the database cannot be read or migrated, or lags behind and may
            not be written.
    """
    try:
        with engine.connect().execution_options(**READ_ONLY) as connection:
            revision = current_revision(connection)
        if revision == HEAD_REVISION:
            return
        if revision is not None and revision not in _known_revisions():
            raise StoreError(
                f"the state store {where} has schema revision {revision}, which this headwater "
                f"does not know (it knows up to {HEAD_REVISION}): a newer headwater wrote it. "
                "Upgrade headwater here (`pip install -U headwater`), or point --db (or "
                "HEADWATER_DB) at another store")
        if not may_write:
            raise StoreError(
                f"the state store {where} is read-only here and its schema is at revision "
                f"{revision or 'none'}, older than this headwater's {HEAD_REVISION}: open it "
                "once with write access (any headwater command) to upgrade it")
        _run_alembic_upgrade(engine)
        if revision is not None:  # an upgrade (not a new store) is said, never silent
            log.warning("upgraded the schema of the state store %s from revision %s to %s; "
                        "an older headwater can no longer open it", where, revision,
                        HEAD_REVISION)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the state store {where}: {exc}") from exc


def _known_revisions() -> set[str]:
    """The revisions of this headwater's migrations (their files are named by them)."""
    return {path.name.partition("_")[0] for path in (MIGRATIONS_DIR / "versions").glob("*.py")}


def _run_alembic_upgrade(engine: Engine) -> None:
    """Alembic's `upgrade head` on a connection of `engine` (imported here: it is slow)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
