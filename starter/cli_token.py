"""`slaflow token create|list|revoke`: API tokens stored hashed in slaflow's database.

Works on the database directly (SLAFLOW_DATABASE_URL, or the SQLite file in the data dir), so
an operator can make the first admin token before the API runs. A new token is printed once,
alone on stdout (`TOKEN=$(slaflow token create ...)`), with what was made on stderr; only its
SHA-256 digest is stored. Tokens in SLAFLOW_API_TOKENS are configuration, not listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from slaflow.api_tokens import TokenInputError, check_token_name, parse_role
from slaflow.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from activities.token_tables import ApiTokenRow

T = TypeVar("T")

app = typer.Typer(help="API tokens stored in the database (hashed).", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _engine() -> Iterator[Engine]:
    """The database at the code's schema (upgraded unless SLAFLOW_DB_AUTO_MIGRATE=false)."""
    from activities.db import make_engine
    from activities.schema import SchemaNotCurrent, prepare_schema

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        try:
            _on_database(
                engine, lambda: prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
            )
        except SchemaNotCurrent as exc:
            _fail(str(exc))
        yield engine
    finally:
        engine.dispose()


def _on_database(engine: Engine, operation: Callable[[], T]) -> T:
    """Run `operation`; a database failure or a refusal becomes one line on stderr."""
    from sqlalchemy.exc import SQLAlchemyError

    from activities.people_store import PeopleStoreError
    from activities.token_store import TokenStoreError
    from slaflow.people import PeopleInputError

    try:
        return operation()
    except (TokenStoreError, PeopleStoreError) as exc:
        _fail(str(exc))
    except PeopleInputError as exc:
        _fail(f"--{exc.field}: {exc}")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"database {engine.url.render_as_string(hide_password=True)}: {reason}")


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _public(row: ApiTokenRow) -> dict[str, object]:
    """What may be shown of a stored token: everything but its digest."""
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "person_id": row.person_id,
        "hint": row.hint,
        "created_at": _when(row.created_at),
        "last_used_at": _when(row.last_used_at) if row.last_used_at else None,
        "revoked_at": _when(row.revoked_at) if row.revoked_at else None,
    }


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses it, e.g. helpdesk-intake.")],
    role: Annotated[str, typer.Option("--role", help="intake, agent, manager or admin.")],
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help="The email or id of the person it acts as; without: an integration "
            "(a helpdesk, a form) named --name.",
        ),
    ] = None,
) -> None:
    """Create a token and print it once; only its SHA-256 digest is stored."""
    from activities.people_store import PeopleStoreError, find_person
    from activities.token_store import create_token

    try:
        name = check_token_name(name)
        chosen = parse_role(role)
    except TokenInputError as exc:
        _fail(f"--{exc.field}: {exc}")
    with _engine() as engine:
        person_id = None
        if person is not None:
            try:
                person_id = find_person(engine, person).id
            except PeopleStoreError as exc:
                _fail(f"--person: {exc}")
        made = _on_database(
            engine, lambda: create_token(engine, name, chosen, datetime.now(UTC), person_id)
        )
    owner = f"person {person_id}" if person_id is not None else f"the integration {name!r}"
    typer.echo(
        f"created token {made.row.id} {made.row.name!r} with the {chosen.value} role, acting "
        f"as {owner}; this is the only time it is shown:",
        err=True,
    )
    typer.echo(made.token)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every stored token, revoked ones too; never a secret."""
    from activities.token_store import list_tokens
    from starter.dev_token import dev_token_path, read_dev_admin_token

    with _engine() as engine:
        rows = [_public(row) for row in _on_database(engine, lambda: list_tokens(engine))]
    settings = get_settings()
    configured = len(settings.api_tokens)
    dev_token = read_dev_admin_token(settings.data_dir)
    dev_file = str(dev_token_path(settings.data_dir)) if dev_token else None
    if as_json:
        listing = {
            "tokens": rows,
            "configured_in_settings": configured,
            "development_token_file": dev_file,
        }
        typer.echo(json.dumps(listing, indent=2))
        return
    if not rows:
        typer.echo("no tokens stored in the database")
    else:
        header = ["ID", "NAME", "ROLE", "TOKEN", "CREATED", "LAST USED", "REVOKED"]
        table = [header] + [
            [
                str(r["id"]),
                str(r["name"]),
                str(r["role"]),
                f"{r['hint']}...",
                str(r["created_at"]),
                str(r["last_used_at"] or "-"),
                str(r["revoked_at"] or "-"),
            ]
            for r in rows
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if configured:
        typer.echo(f"(and {configured} token(s) configured in SLAFLOW_API_TOKENS)")
    if dev_token:
        typer.echo(
            f"(and the development admin token of `slaflow run`, {dev_token[:8]}..., "
            f"kept in {dev_file}; `make clean` removes it)"
        )


@app.command("revoke")
def revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME-OR-ID", help="As `token list` shows.")],
) -> None:
    """Revoke a token: the API refuses it within SLAFLOW_API_TOKEN_CACHE_SECONDS."""
    from activities.token_store import revoke_token

    settings = get_settings()
    with _engine() as engine:
        row = _on_database(engine, lambda: revoke_token(engine, name_or_id, datetime.now(UTC)))
    typer.echo(
        f"revoked token {row.id} {row.name!r} ({row.role}); the API refuses it within "
        f"{settings.api_token_cache_seconds:g} s, and its browser sessions end with it"
    )
