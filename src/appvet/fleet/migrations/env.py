"""Alembic environment for the fleet store.

``appvet.fleet.store.migrate`` passes an open connection in ``config.attributes``; the migrations
run on it, inside the caller's transaction. There is no alembic.ini: the store URL comes from
``--store``, never from a file next to the package.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from appvet.fleet.store import metadata

config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection: run migrations through appvet.fleet.store.migrate")
    engine = create_engine(url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
