"""Alembic environment of the state store: run by `headwater.store.migrate`, no alembic.ini.

`migrate.upgrade_to_head` hands over an open SQLAlchemy connection in
`config.attributes["connection"]`; the Alembic CLI (with a `sqlalchemy.url` main option) works
too. `render_as_batch=True` lets SQLite alter tables by rebuilding them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import Connection, create_engine

from headwater.store.tables import metadata


def run_with(connection: Connection) -> None:
    """Run the pending revisions on `connection` in one transaction.

    On SQLite, foreign keys are off while the revisions run, as SQLite's own procedure for
    altering tables asks (a rebuilt table is dropped before its copy is renamed), and every
    foreign key is checked once they are done.
    """
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with _foreign_keys_off(connection), context.begin_transaction():
        context.run_migrations()


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "sqlite":
        yield
        return
    # The pragma is a no-op inside a transaction: set it on the driver's connection, which
    # SQLAlchemy has not begun one on yet.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys = ON")
    broken = driver.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


def run_online() -> None:
    """Use the caller's connection when given one, else connect to `sqlalchemy.url`."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("set sqlalchemy.url, or pass a connection in config.attributes")
    engine = create_engine(url)
    with engine.connect() as own_connection:
        run_with(own_connection)
    engine.dispose()


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade --sql`)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
