"""Schema migrations: bring a database to the newest Alembic revision, cheaply when it is.

The Alembic scripts live in `store/migrations/` inside the package; no alembic.ini is needed.
Alembic (and Mako) cost about half a second to import, so they are imported only when the
database actually lags behind: opening a store that is already at `HEAD_REVISION` reads one
row and imports nothing.

Who may migrate is `refusal`'s policy: every command creates a new store at head and upgrades
a SQLite file that lags (logged); a PostgreSQL store, which engines of several versions may
share, is upgraded only by `headwater db upgrade` (`upgrade_store`). `schema_status` is what
`headwater db status` shows.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from headwater.core.redaction import without_password
from headwater.errors import StoreError
from headwater.store.engine import READ_ONLY, create_store_engine, read_only_file

# The newest revision in migrations/versions; a test checks it against Alembic's own view.
HEAD_REVISION = "0015"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# PostgreSQL's advisory lock of migrations: any number, the same in every headwater ("hwmg").
MIGRATION_LOCK = 0x68776D67

log = logging.getLogger(__name__)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for a database Alembic never touched."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


class SchemaState(StrEnum):
    """Where a store's schema stands against this headwater's migrations."""

    AT_HEAD = "at head"  # the revision this headwater needs: nothing to do
    NEW = "new"  # no schema yet (a new or empty database): any command creates it at head
    BEHIND = "behind"  # an older headwater's revision: the pending migrations bring it to head
    NEWER = "newer"  # a revision this headwater does not know: a newer headwater wrote it


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """What `headwater db status` shows of one store."""

    where: str  # the store's URL, its password hidden
    revision: str | None  # None: no schema yet
    pending: tuple[str, ...]  # the migrations an upgrade runs, oldest first: "0012: what"
    blocked: str | None  # why `headwater db upgrade` cannot bring it to head from here
    head: str = HEAD_REVISION


def schema_state(revision: str | None, known: Collection[str]) -> SchemaState:
    """The state of a store at `revision`, for a headwater whose migrations are `known`."""
    if revision == HEAD_REVISION:
        return SchemaState.AT_HEAD
    if revision is None:
        return SchemaState.NEW
    return SchemaState.BEHIND if revision in known else SchemaState.NEWER


def refusal(state: SchemaState, revision: str | None, where: str, *, shared: bool,
            may_write: bool, asked: bool = False) -> str | None:
    """Why the store `where` may not be brought to head now; None when it may (the policy).

    A new store is created at head by any command: the one-command local product needs no
    setup step. A SQLite file that lags is upgraded by any command too (and the upgrade is
    logged): its engines share one machine, so one headwater installation, which was just
    upgraded. A `shared` database server (PostgreSQL), where engines of several versions may
    run, is upgraded only when the operator `asked` (`headwater db upgrade`), after a backup
    and with the older engines stopped: they cannot use the upgraded schema.
    """
    if state is SchemaState.AT_HEAD:
        return None
    if state is SchemaState.NEWER:
        return (f"the state store {where} has schema revision {revision}, which this "
                f"headwater does not know (it knows up to {HEAD_REVISION}): a newer headwater "
                "wrote it. Upgrade headwater here (`pip install -U headwater`), or point --db "
                "(or HEADWATER_DB) at another store")
    if not may_write:
        return (f"the state store {where} is read-only here and its schema is at revision "
                f"{revision or 'none'}, older than this headwater's {HEAD_REVISION}: open it "
                "once with write access (any headwater command) to upgrade it")
    if state is SchemaState.BEHIND and shared and not asked:
        return (f"the state store {where} has schema revision {revision}, older than the "
                f"{HEAD_REVISION} this headwater needs, and a shared database is upgraded "
                "only on purpose: back it up first (docs/guide/operations.md), stop the "
                "engines and servers of older headwater versions (they cannot use the new "
                "schema), then run `headwater db upgrade --db URL`")
    return None


def upgrade_to_head(engine: Engine, where: str, *, may_write: bool = True) -> None:
    """Bring the database to head as a command opens it, when `refusal` allows (`where` names
    it in messages); an upgrade of an existing store is logged, never silent.

    Raises:
        StoreError: when the database cannot be read or migrated, or `refusal` says why not.
    """
    before = _upgrade(engine, where, may_write=may_write, asked=False)
    if before not in (None, HEAD_REVISION):
        log.warning("upgraded the schema of the state store %s from revision %s to %s; "
                    "an older headwater can no longer open it", where, before, HEAD_REVISION)


def upgrade_store(url: str) -> tuple[str | None, str]:
    """`headwater db upgrade`: bring the store at `url` to head, whatever its database; the
    revisions it was at and is at now (the same when it was at head).

    Raises:
        StoreError: when the store cannot be read or migrated, is read-only here, or a newer
            headwater wrote it.
    """
    engine = create_store_engine(url)
    try:
        before = _upgrade(engine, without_password(url),
                          may_write=read_only_file(url) is None, asked=True)
    finally:
        engine.dispose()
    return before, HEAD_REVISION


def schema_status(url: str) -> SchemaStatus:
    """Where the store at `url` stands (`headwater db status`); nothing is migrated.

    Raises:
        StoreError: when the store cannot be read.
    """
    where = without_password(url)
    engine = create_store_engine(url)
    try:
        revision, state, shared = _standing(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the state store {where}: {exc}") from exc
    finally:
        engine.dispose()
    lags = state in (SchemaState.NEW, SchemaState.BEHIND)
    blocked = refusal(state, revision, where, shared=shared,
                      may_write=read_only_file(url) is None, asked=True)
    return SchemaStatus(where, revision, pending_migrations(revision) if lags else (), blocked)


def pending_migrations(revision: str | None) -> tuple[str, ...]:
    """The migrations an upgrade from `revision` runs, oldest first, as "0012: what it does"
    (the first line of each script's docstring). Imports Alembic."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    steps = list(scripts.iterate_revisions("head", revision or "base"))
    return tuple(f"{step.revision}: {step.doc}" for step in reversed(steps))


def _upgrade(engine: Engine, where: str, *, may_write: bool, asked: bool) -> str | None:
    """Run the pending revisions unless `refusal` says why not; the revision it was at."""
    try:
        revision, state, shared = _standing(engine)
        if state is SchemaState.AT_HEAD:
            return revision
        reason = refusal(state, revision, where, shared=shared, may_write=may_write,
                         asked=asked)
        if reason is not None:
            raise StoreError(reason)
        _run_alembic_upgrade(engine)
        return revision
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the state store {where}: {exc}") from exc


def _standing(engine: Engine) -> tuple[str | None, SchemaState, bool]:
    """The store's revision, its state against this headwater's migrations, and whether it
    is a shared database server (not a SQLite file). At head, no migration file is read."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        revision = current_revision(connection)
    state = SchemaState.AT_HEAD if revision == HEAD_REVISION \
        else schema_state(revision, _known_revisions())
    return revision, state, engine.dialect.name != "sqlite"


def _known_revisions() -> set[str]:
    """The revisions of this headwater's migrations (their files are named by them)."""
    return {path.name.partition("_")[0] for path in (MIGRATIONS_DIR / "versions").glob("*.py")}


def _run_alembic_upgrade(engine: Engine) -> None:
    """Alembic's `upgrade head` on a connection of `engine` (imported here: it is slow)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection, _migrating_alone(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _migrating_alone(connection: Connection) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock `MIGRATION_LOCK` while migrating: of two processes
    that find a shared store behind at once (engines starting on a new database), the second
    waits, then finds it at head, instead of failing on the tables the first is making. A
    SQLite file is one writer's at a time already."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
    connection.commit()  # the lock is the session's; Alembic begins its own transaction
    try:
        yield
    finally:
        connection.rollback()  # a failed migration's transaction, if one is left open
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
