"""What differs between SQLite and PostgreSQL beyond connection setup, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Insert, Table, insert


def insert_ignoring(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """An INSERT that skips rows whose `keys` exist already (ON CONFLICT DO NOTHING)."""
    # Each dialect is imported here: the connection's own is loaded already, and importing
    # PostgreSQL's up front would cost a SQLite store's commands ~20 ms of their start.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return insert(table)
