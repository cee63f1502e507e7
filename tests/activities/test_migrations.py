"""Alembic migrations against SQLite and PostgreSQL: head is exactly the models' schema.

This fails when a table or column is added to the models without a revision: write one with
`slaflow db revision -m "..."` (README, "Database migrations").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from activities import schema
from activities.db import create_tables, make_engine
from slaflow.settings import get_settings
from starter.cli import app as cli_app

POSTGRES_URL = os.environ.get("SLAFLOW_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("SLAFLOW_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    name = f"slaflow_migrate_{uuid.uuid4().hex}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = make_engine(POSTGRES_URL, schema=name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrading_an_empty_database_yields_exactly_the_models(empty_engine: Engine) -> None:
    assert schema.current_revision(empty_engine) is None
    assert schema.upgrade(empty_engine) == schema.head_revision()
    assert schema.drift(empty_engine, strict=True) == []
    status = schema.schema_status(empty_engine)
    assert status.ok and status.problem() is None


def test_every_revision_downgrades_and_upgrades_again(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)
    revisions = [
        r.revision
        for r in schema.ScriptDirectory.from_config(schema.alembic_config()).walk_revisions()
    ]  # head first
    for below in [*revisions[1:], "base"]:
        schema.downgrade(empty_engine, below)
        assert schema.current_revision(empty_engine) == (None if below == "base" else below)
    assert _tables(empty_engine) <= {"alembic_version"}, "base must drop every slaflow table"
    schema.upgrade(empty_engine)
    assert schema.drift(empty_engine, strict=True) == []


def test_rows_survive_an_upgrade_from_the_baseline(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine, schema.BASELINE_REVISION)
    now = datetime.now(UTC)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agreement_versions (number, effective_from, created_at, source,"
                " document) VALUES (1, :now, :now, 'file:x', '{}')"
            ),
            {"now": now},
        )
    schema.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT source FROM agreement_versions")).scalar_one() == (
            "file:x"
        )
    assert schema.drift(empty_engine) == []


def test_a_create_tables_database_is_adopted_at_head(empty_engine: Engine) -> None:
    create_tables(empty_engine)
    assert schema.current_revision(empty_engine) is None
    assert schema.upgrade(empty_engine) == schema.head_revision()
    assert schema.drift(empty_engine) == []


def test_a_pre_migration_database_is_stamped_baseline_then_upgraded(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine, schema.BASELINE_REVISION)
    with empty_engine.begin() as connection:  # what create_tables made before migrations
        connection.execute(text("DROP TABLE alembic_version"))
    assert schema.upgrade(empty_engine) == schema.head_revision()
    assert schema.drift(empty_engine) == []


def test_without_auto_migrate_an_old_schema_is_refused_in_words(empty_engine: Engine) -> None:
    with pytest.raises(schema.SchemaNotCurrent) as refused:
        schema.prepare_schema(empty_engine, auto_migrate=False)
    head = schema.head_revision()
    assert str(refused.value) == (
        f"the database has no slaflow schema (expected revision {head}): run `slaflow db upgrade`"
    )
    schema.upgrade(empty_engine, schema.BASELINE_REVISION)
    if head != schema.BASELINE_REVISION:
        with pytest.raises(schema.SchemaNotCurrent, match="is at revision 0001, the code needs"):
            schema.prepare_schema(empty_engine, auto_migrate=False)
    schema.prepare_schema(empty_engine, auto_migrate=True)
    schema.prepare_schema(empty_engine, auto_migrate=False)  # at head: passes


def test_drift_is_reported_as_a_problem(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'drift.db'}")
    schema.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_notifications_ticket_id"))
    status = schema.schema_status(engine)
    assert status.at_head and not status.ok
    assert status.problem() == (
        f"the tables differ from the models at revision {status.head} "
        "(add index ix_notifications_ticket_id): add a revision with `slaflow db revision -m ...`"
    )
    engine.dispose()


# ----- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SLAFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_commands_upgrade_report_and_check(db_env: str) -> None:
    runner = CliRunner()
    head = schema.head_revision()
    where = db_env

    current = runner.invoke(cli_app, ["db", "current"])
    assert current.exit_code == 0
    assert current.output.strip() == f"none (head is {head}: run `slaflow db upgrade`)"

    check = runner.invoke(cli_app, ["db", "check"])
    assert check.exit_code == 1
    assert check.stderr.strip() == (
        f"error: the database has no slaflow schema (expected revision {head}): "
        "run `slaflow db upgrade`"
    )

    upgraded = runner.invoke(cli_app, ["db", "upgrade"])
    assert upgraded.exit_code == 0
    assert upgraded.output.strip() == f"database {where}: upgraded from empty to {head}"
    again = runner.invoke(cli_app, ["db", "upgrade"])
    assert again.output.strip() == f"database {where}: already at revision {head}"

    assert runner.invoke(cli_app, ["db", "current"]).output.strip() == f"{head} (head)"
    check = runner.invoke(cli_app, ["db", "check"])
    assert check.exit_code == 0
    assert check.output.strip() == f"database {where}: at head {head}; tables match the models"

    down = runner.invoke(cli_app, ["db", "downgrade", "base"])
    assert down.exit_code == 0 and "now at revision base (empty)" in down.output


def test_db_upgrade_names_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://slaflow@127.0.0.1:{port}/slaflow"
    monkeypatch.setenv("SLAFLOW_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: database {url}: connection failed:")
    assert "Connection refused" in result.stderr
