"""Connection setup: one SQLAlchemy `Engine` per store, with SQLite's pragmas and locking.

SQLite is set up for one writer at a time that never deadlocks:

- `journal_mode=WAL`: readers do not block the writer nor the writer the readers.
- `synchronous=NORMAL`: in WAL mode a commit is not fsynced, the WAL is at checkpoints. That
  is still crash-safe for the database (a killed process or a crashed OS never corrupts it);
  only the last transactions before a power loss may roll back. `FULL` fsyncs every commit
  and cost 2.5x in the store study (868 against ~2,000 transitions/s), which buys nothing an
  orchestrator needs: a lost transition is replayed from the executor's next report.
- `busy_timeout=30000`: a writer waits up to 30 s for the lock instead of failing at once.
- `foreign_keys=ON`: SQLite does not enforce foreign keys unless asked, per connection.
- The driver's own transaction handling is off (`isolation_level=None`) and SQLAlchemy's
  `begin` event emits `BEGIN IMMEDIATE`, so a write transaction takes the write lock up front.
  A deferred `BEGIN` that reads and then writes must upgrade its lock, and two such writers
  deadlock with "database is locked" whatever the busy timeout (see the study).
  Connections marked with the `READ_ONLY` execution option begin a deferred transaction:
  in WAL mode a reader sees a stable snapshot and never needs the write lock.

A SQLite file that this process may read but not write (its file or its folder not writable,
as for an operator looking at a service's store) is opened read-only (`mode=ro`; `immutable`
too when no writer has it open, since SQLite cannot create the shared-memory file a WAL
reader needs): commands that only read work, the schema is never migrated, and a write fails
with SQLite's "readonly database" error.

Everything else in the store is portable SQL: PostgreSQL (`postgresql+psycopg://`) takes the
same code path with no connection events.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError

from headwater.core.redaction import without_password
from headwater.errors import StoreError, StoreLost

# Execution option: `conn.execution_options(**READ_ONLY)` begins a deferred transaction.
READ_ONLY = {"headwater_read_only": True}

IDLE_IN_TRANSACTION_MS = 5000
# How headwater's PostgreSQL sessions name themselves (unless the URL names them otherwise):
# what `stalled_sessions` looks for.
APPLICATION_NAME = "headwater"

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; for a SQLite file, its directory is created and the pragmas set
    (or, for a file this process may not write, a read-only engine: see above)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A session left idle inside a transaction belongs to a process that froze (SIGSTOP,
        # a VM paused) mid-write: its row locks would keep every other engine from taking
        # its runs over (they claim with SKIP LOCKED). The server ends such a session after
        # IDLE_IN_TRANSACTION_MS; headwater's own transactions are never idle that long.
        # A session frozen in the middle of a request (a pipeline sent without its Sync) is not
        # idle to the server, so that timeout misses it: `stalled_sessions` ends those.
        options = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
        named = {} if "application_name" in parsed.query else \
            {"application_name": APPLICATION_NAME}
        try:
            return create_engine(url, pool_pre_ping=True,
                                 connect_args={"options": options, **named})
        except (ModuleNotFoundError, NoSuchModuleError) as error:
            raise StoreError(f"cannot open the state store {without_password(url)}: {error}. "
                             "A PostgreSQL store needs psycopg (`pip install "
                             "'headwater[postgres]'`) and a URL such as "
                             "postgresql+psycopg://user@host/database") from None
    if (path := read_only_file(url)) is not None:
        return _read_only_engine(path)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        _create_private(Path(database).expanduser())
    engine = create_engine(url, connect_args={"isolation_level": None})
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def read_only_file(url: str) -> Path | None:
    """The SQLite file `url` names when it exists and this process may not write it."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or \
            database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    if not path.exists() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    return path


def _read_only_engine(path: Path) -> Engine:
    writer_open = path.with_name(path.name + "-shm").exists()
    flags = "mode=ro" if writer_open else "mode=ro&immutable=1"
    engine = create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?{flags}&uri=true",
                           connect_args={"isolation_level": None})
    event.listen(engine, "connect", _on_read_only_connect)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    return engine


class FileIdentity:
    """The SQLite file a store opened, to notice it removed or replaced under a running
    process: SQLite would go on writing to the unlinked file, and lose it all at exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        found = path.stat()
        self.device, self.inode = found.st_dev, found.st_ino

    @classmethod
    def of(cls, engine: Engine) -> FileIdentity | None:
        """The identity of `engine`'s database file; None for other databases."""
        database = engine.url.database or ""
        if engine.dialect.name != "sqlite" or database in ("", ":memory:") or \
                database.startswith("file:"):
            return None
        return cls(Path(database).expanduser())

    def check(self) -> None:
        """Raise `StoreLost` unless the path still names the file opened."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            found = None
        if found is None or (found.st_dev, found.st_ino) != (self.device, self.inode):
            what = "removed" if found is None else "replaced by another file"
            raise StoreLost(
                f"the state store {self.path} was {what} while this process used it: what "
                "it wrote since is not stored. Stop it and start again; runs continue from "
                "what the store holds.")


def _create_private(path: Path) -> None:
    """Create the state file (and its folder) readable by its owner only, before SQLite
    does: SQLite gives the WAL and shared-memory files the database file's permissions.
    An existing file keeps the permissions its owner gave it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Apply the pragmas to every new SQLite connection (they are per connection)."""
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see `_on_sqlite_begin`
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_read_only_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    """Take the write lock at BEGIN, unless the connection is marked read-only."""
    if connection.get_execution_options().get("headwater_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
