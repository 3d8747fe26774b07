"""What differs between SQLite and PostgreSQL beyond connection setup, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Insert, Table, insert, text


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


def serialize(conn: Connection, key: str) -> None:
    """Make the transactions that call this with the same `key` run one after the other, until
    each commits: a PostgreSQL advisory lock on the key's hash (a collision only makes two
    keys wait for each other). SQLite needs none: its writers all take the write lock up
    front (`BEGIN IMMEDIATE`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": key})
