"""What differs between SQLite and PostgreSQL beyond connection setup, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Insert, Table, insert


def insert_ignoring(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """An INSERT that skips rows whose `keys` exist already (ON CONFLICT DO NOTHING); its
    `rowcount` is the rows it inserted, which callers read to learn whether they won."""
    # Each dialect is imported here: the connection's own is loaded already, and importing
    # PostgreSQL's up front would cost a SQLite store's commands ~20 ms of their start.
    statement: Insert
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    else:
        statement = insert(table)
    # Without this, SQLAlchemy 2.1 on psycopg answers -1 for an INSERT's rowcount: a skipped
    # row would read as inserted (two engines would each think they fired a trigger).
    return statement.execution_options(preserve_rowcount=True)
