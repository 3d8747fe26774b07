"""What differs between SQLite and PostgreSQL beyond connection setup, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """An INSERT that skips rows whose `keys` exist already (ON CONFLICT DO NOTHING)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return insert(table)
