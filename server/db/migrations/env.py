"""Alembic's environment: runs the revisions on the connection that
:func:`wingspan.server.db.migrate.migrate` hands over, or on ``sqlalchemy.url``
when Alembic's command line runs it."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from wingspan.server.db.models import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them: batch mode does that
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main(config: Any) -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = config.get_main_option("sqlalchemy.url").replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    with create_engine(url).connect() as conn:
        _configure_and_run(conn)


_config: Any
try:
    _config = context.config
except (AttributeError, NameError):  # imported outside a migration run (the wheel test imports every module)
    _config = None
if _config is not None:
    _main(_config)
