"""Alembic environment: banjia hands in an open connection; the ``alembic`` command line opens one
from ``BANJIA_CONFIG`` (or the embedded defaults) with the synchronous driver."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from banjia.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from banjia.config import load_config
    from banjia.store._engine import sync_url

    engine = create_engine(sync_url(load_config(None).store.url))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("banjia's migrations run online only (against a database)")
_main()
