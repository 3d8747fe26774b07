"""The SQL state store adapter: `SqlStore` on SQLAlchemy Core with Alembic migrations.

    store = open_store("sqlite:///.headwater/state.db")   # or postgresql+psycopg://...

Modules: `tables` (schema), `engine` (connection setup, SQLite pragmas and locking),
`migrate` (Alembic, imported only when needed), `rows` (rows <-> core types),
`job_queries` and `run_queries` (statements), `sql` (the `SqlStore` facade).
"""

from headwater.store.sql import SqlStore, open_store

__all__ = ["SqlStore", "open_store"]
