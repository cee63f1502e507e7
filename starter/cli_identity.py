"""Who the CLI acts as: the person (or integration) its token belongs to.

The CLI talks to Temporal and the database directly, so it cannot be asked for a bearer
header; instead it reads its own API token from SLAFLOW_CLI_TOKEN, looks it up like the API
does (settings' tokens first, then the database by digest) and acts as its person. A token
that is unknown, revoked, or whose person is deactivated acts as nobody: exit 1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from activities.people_store import person_by_id
from activities.token_store import token_of_digest
from slaflow.people import Actor
from slaflow.roles import Role, token_digest
from slaflow.settings import Settings

UNSET_ADVICE = (
    "SLAFLOW_CLI_TOKEN is not set; the CLI acts as the person its token belongs to: "
    "`slaflow token create --name you --role agent --person you@example.com`, then "
    "export SLAFLOW_CLI_TOKEN=<the token>"
)


class IdentityRefused(PermissionError):
    """The CLI's token acts as nobody, or not with the role needed; the message says why."""


def cli_actor(settings: Settings, engine: Engine, need: Role) -> tuple[Actor, Role]:
    """The actor and role of SLAFLOW_CLI_TOKEN, at least `need`."""
    if settings.cli_token is None:
        raise IdentityRefused(UNSET_ADVICE)
    token = settings.cli_token.get_secret_value().strip()
    configured = settings.api_tokens.get(token)
    if configured is not None:
        name = f"{configured.value} token {token_digest(token)[:8]}"
        actor, role = Actor(name=name, method="cli", credential=name), configured
    else:
        row = token_of_digest(engine, token_digest(token), datetime.now(UTC))
        if row is None:
            raise IdentityRefused("SLAFLOW_CLI_TOKEN: unknown or revoked token")
        role = Role(row.role)
        actor = Actor(name=row.name, method="cli", credential=row.name)
        if row.person_id is not None:
            person = person_by_id(engine, row.person_id)
            if person is None or not person.active:
                raise IdentityRefused("SLAFLOW_CLI_TOKEN: its person is deactivated")
            actor = Actor(
                name=person.name,
                method="cli",
                credential=row.name,
                person_id=person.id,
                email=person.email,
            )
    if not role.includes(need):
        raise IdentityRefused(f"this needs the {need.value} role; the token's role is {role.value}")
    return actor, role
