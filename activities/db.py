"""Database engine for the activities and the API: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel, create_engine

from activities import (  # noqa: F401  (registers the tables on SQLModel.metadata)
    amendment_tables,
    outage_tables,
    people_tables,
    service_level_tables,
    slack_tables,
    tables,
    token_tables,
)


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url`, with the SQLite settings a multi-process local stack needs.

    `schema` (PostgreSQL only) sets every connection's search_path to that schema, so tables
    are created and found there; tests use it to give each run a schema of its own.
    """
    if url.startswith("sqlite"):
        if schema is not None:
            raise ValueError("schema= applies to PostgreSQL only; SQLite has one schema per file")
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if schema is None:
        return create_engine(url, pool_pre_ping=True)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"schema must be a lower-case unquoted identifier, not {schema!r}")
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": f"-csearch_path={schema}"}
    )


def create_tables(engine: Engine) -> None:
    """Create missing tables straight from the models: for tests, which want a fresh database
    fast. Processes migrate with `activities.schema` (Alembic) instead, and a database made
    here is adopted by its first upgrade."""
    SQLModel.metadata.create_all(engine)


def upsert_insert(engine: Engine, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, for the two databases slaflow runs on.

    Checking for a row and then inserting races (a retried activity against its earlier
    attempt, two processes starting): the loser fails on the primary key. ON CONFLICT settles
    it inside the database.
    """
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"slaflow supports SQLite and PostgreSQL, not {engine.dialect.name}")
