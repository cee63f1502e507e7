"""`slaflow person add|list|show|deactivate|activate|grant|revoke`: the people directory.

Works on the database directly, like `slaflow token`. A deactivated person's tokens, sessions
and signing links stop working; their history stays theirs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from slaflow.people import PeopleInputError, PersonRole, parse_person_role
from starter.cli_token import _engine, _fail, _on_database

if TYPE_CHECKING:
    from activities.people_store import Person

app = typer.Typer(help="People: who acts, signs and is paged.", no_args_is_help=True)

Key = Annotated[str, typer.Argument(metavar="EMAIL-OR-ID", help="As `person list` shows.")]
AgreementOpt = Annotated[str, typer.Option("--agreement", help="The agreement id.")]
RoleOpt = Annotated[
    str,
    typer.Option(
        "--role",
        help="agent, team_lead, specialist, manager, customer_signatory or provider_signatory.",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _public(person: Person) -> dict[str, object]:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "slack_user_id": person.slack_user_id,
        "active": person.active,
        "memberships": [
            {"agreement_id": m.agreement_id, "role": m.role.value} for m in person.memberships
        ],
    }


def _line(person: Person) -> str:
    roles = ", ".join(f"{m.role.value}@{m.agreement_id}" for m in person.memberships) or "-"
    state = "" if person.active else " (deactivated)"
    return f"{person.id}  {person.name} <{person.email}>{state}  {roles}"


def _print(person: Person, as_json: bool) -> None:
    typer.echo(json.dumps(_public(person), indent=2) if as_json else _line(person))


def _role(text: str) -> PersonRole:
    try:
        return parse_person_role(text)
    except PeopleInputError as exc:
        _fail(f"--{exc.field}: {exc}")


@app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="The person's name as records show it.")],
    email: Annotated[str, typer.Option("--email", help="Unique; how people are named.")],
    slack: Annotated[str | None, typer.Option("--slack", help="Their Slack user id.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a person (then `grant` them roles on agreements)."""
    from activities.people_store import add_person

    if not name.strip() or len(name) > 200:
        _fail("--name: give 1 to 200 characters")
    with _engine() as engine:
        person = _on_database(
            engine, lambda: add_person(engine, name, email, slack, datetime.now(UTC))
        )
    _print(person, as_json)


@app.command("list")
def list_(
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="Only people working on it.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Everyone in the directory, deactivated people too."""
    from activities.people_store import list_people

    with _engine() as engine:
        people = _on_database(engine, lambda: list_people(engine, agreement))
    if as_json:
        typer.echo(json.dumps([_public(p) for p in people], indent=2))
        return
    for person in people:
        typer.echo(_line(person))
    if not people:
        typer.echo("no people")


@app.command("show")
def show(key: Key, as_json: JsonFlag = False) -> None:
    """One person and their roles."""
    from activities.people_store import find_person

    with _engine() as engine:
        _print(_on_database(engine, lambda: find_person(engine, key)), as_json)


@app.command("deactivate")
def deactivate(key: Key) -> None:
    """End every credential of theirs; their records stay."""
    from activities.people_store import set_active

    with _engine() as engine:
        person = _on_database(engine, lambda: set_active(engine, key, False))
    typer.echo(f"deactivated {person.email}; the API refuses their tokens within its cache time")


@app.command("activate")
def activate(key: Key) -> None:
    from activities.people_store import set_active

    with _engine() as engine:
        person = _on_database(engine, lambda: set_active(engine, key, True))
    typer.echo(f"activated {person.email}")


@app.command("grant")
def grant(key: Key, agreement: AgreementOpt, role: RoleOpt) -> None:
    """Give a person a role on an agreement."""
    from activities.agreement_store import agreements
    from activities.people_store import grant as grant_role

    chosen = _role(role)
    with _engine() as engine:
        known = {a.id for a in _on_database(engine, lambda: agreements(engine))}
        if agreement not in known:
            _fail(f"--agreement: no agreement {agreement!r}; known: {', '.join(sorted(known))}")
        person = _on_database(engine, lambda: grant_role(engine, key, agreement, chosen))
    typer.echo(_line(person))


@app.command("revoke")
def revoke(key: Key, agreement: AgreementOpt, role: RoleOpt) -> None:
    """Take a role on an agreement away."""
    from activities.people_store import revoke as revoke_role

    chosen = _role(role)
    with _engine() as engine:
        person = _on_database(engine, lambda: revoke_role(engine, key, agreement, chosen))
    typer.echo(_line(person))
