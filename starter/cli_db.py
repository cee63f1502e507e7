"""`slaflow db ...`: slaflow's own database schema, migrated with Alembic.

Production runs `slaflow db upgrade` once before the workers and the API start
(SLAFLOW_DB_AUTO_MIGRATE=false); the embedded SQLite default upgrades itself at start.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from sqlalchemy import Engine

from slaflow.settings import get_settings

T = TypeVar("T")

app = typer.Typer(help="slaflow's own database: migrations and seeding.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _engine() -> Iterator[Engine]:
    from activities.db import make_engine

    engine = make_engine(get_settings().resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _on_database(engine: Engine, operation: Callable[[], T]) -> T:
    """Run `operation`, turning a database failure into one line naming the database."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return operation()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"database {_where(engine)}: {reason}")


@app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the database to the code's schema (or to --revision)."""
    from activities import schema

    with _engine() as engine:
        before = _on_database(engine, lambda: schema.current_revision(engine))
        after = _on_database(engine, lambda: schema.upgrade(engine, revision))
        if before == after:
            typer.echo(f"database {_where(engine)}: already at revision {after}")
        else:
            typer.echo(f"database {_where(engine)}: upgraded from {before or 'empty'} to {after}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or base to drop all.")],
) -> None:
    """Migrate the database down to REVISION."""
    from activities import schema

    with _engine() as engine:
        after = _on_database(engine, lambda: schema.downgrade(engine, revision))
        typer.echo(f"database {_where(engine)}: now at revision {after or 'base (empty)'}")


@app.command("current")
def current() -> None:
    """The database's revision and the code's head."""
    from activities import schema

    with _engine() as engine:
        revision = _on_database(engine, lambda: schema.current_revision(engine))
        head = schema.head_revision()
        if revision == head:
            typer.echo(f"{revision} (head)")
        else:
            typer.echo(f"{revision or 'none'} (head is {head}: run `slaflow db upgrade`)")


@app.command("check")
def check() -> None:
    """Exit 1 when the database is behind the code or its tables drifted from the models."""
    from activities import schema

    with _engine() as engine:
        status = _on_database(engine, lambda: schema.schema_status(engine))
        problem = status.problem()
        if problem:
            _fail(problem)
        typer.echo(f"database {_where(engine)}: at head {status.head}; tables match the models")


@app.command("init")
def init() -> None:
    """Upgrade to head and seed agreement version 1 from SLAFLOW_AGREEMENT_FILE."""
    from activities import schema
    from activities.agreement_store import agreements, seed_agreements
    from slaflow.agreement_file import AgreementFileError

    settings = get_settings()
    with _engine() as engine:
        _on_database(engine, lambda: schema.upgrade(engine))
        try:
            _on_database(engine, lambda: seed_agreements(engine, settings.agreement_file))
        except AgreementFileError as exc:
            _fail(str(exc))
        held = agreements(engine)
        typer.echo(f"database ready: {_where(engine)}")
        typer.echo(f"agreements: {len(held)} ({', '.join(a.id for a in held)})")


@app.command("revision")
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
    empty: Annotated[
        bool, typer.Option("--empty", help="An empty revision to fill by hand (data changes).")
    ] = False,
) -> None:
    """Write a new revision from the difference between the models and the current head.

    For developers: compares against a scratch SQLite database upgraded to head, and writes the
    file into activities/migrations/versions. Review it (PostgreSQL too) before committing.
    """
    from activities import schema
    from activities.db import make_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            schema.upgrade(engine)
            if not empty and not schema.drift(engine):
                _fail("the models match the head revision; nothing to write (--empty for data)")
            path = schema.revision(message, engine, autogenerate=not empty)
        finally:
            engine.dispose()
    typer.echo(f"wrote {path}")
