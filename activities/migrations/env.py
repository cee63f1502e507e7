"""Alembic environment: slaflow's SQLModel metadata, on the connection `activities.schema` gives.

Run from code (`activities.schema`, `slaflow db ...`), never from an alembic.ini: the
connection arrives in `config.attributes["connection"]`. Without one, the `sqlalchemy.url` main
option names the database (the README shows the plain `alembic` command that way).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import TypeDecorator
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from activities.db import make_engine  # importing it registers every table on the metadata

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render column types as plain SQLAlchemy types, so revisions never import model code
    (slaflow's UTCDateTime and SQLModel's AutoString become what they store as)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them; PostgreSQL ignores it
        compare_type=True,
        render_item=render_item,
    )


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("slaflow's migrations run online only (`slaflow db upgrade`)")
run_migrations_online()
