"""A PostgreSQL session left in the middle of a write, as a process frozen inside psycopg's
executemany leaves it, made without freezing a process; and what the server says of sessions.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from headwater.store.engine import APPLICATION_NAME
from tests.servers import wait_for


def conninfo(url: str) -> str:
    """psycopg's form of a `postgresql+psycopg://` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Stalled:
    """A session that sent statements as a pipeline and never their Sync."""

    def __init__(self, url: str, *statements: str, application: str = APPLICATION_NAME
                 ) -> None:
        self.conn = psycopg.connect(conninfo(url), application_name=application)
        self.pid = self.conn.info.backend_pid
        self.conn.execute("SELECT 1")  # psycopg has begun the transaction
        pgconn = self.conn.pgconn
        pgconn.enter_pipeline_mode()
        for statement in statements:
            pgconn.send_query_params(statement.encode(), None)
        pgconn.flush()
        wait_for(lambda: sessions(url).get(self.pid, ("",))[0] == "active", timeout=10,
                 every=0.05, what="the session to be active")

    def close(self) -> None:
        self.conn.pgconn.finish()


def sessions(url: str) -> dict[int, tuple[str, str | None, bool]]:
    """The database's other client sessions: pid -> (state, wait event, holds an xid)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT pid, state, wait_event, backend_xid IS NOT NULL AS xid "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).all()
    finally:
        engine.dispose()
    return {row.pid: (row.state, row.wait_event, row.xid) for row in rows}

