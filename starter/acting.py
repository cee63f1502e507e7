"""Who acts on a ticket: the credential's person, or the person an integration names, and
whether they may act on that ticket's agreement at all.

Refusals are `ActingRefused` (403 over HTTP); every caller audits them.
"""

from __future__ import annotations

from sqlalchemy import Engine

from activities.people_store import PeopleStoreError, Person, find_person
from slaflow.people import WORKING_ROLES, Actor
from slaflow.roles import Role


class ActingRefused(PermissionError):
    """The credential may not act here (or not for whom it names); the message says why."""


def works_on(person: Person, agreement_id: str) -> bool:
    """Agent, team lead, specialist or manager of the agreement (signatories only sign)."""
    return bool(person.roles_on(agreement_id) & WORKING_ROLES)


def acting_actor(
    engine: Engine,
    actor: Actor,
    role: Role,
    agreement_id: str,
    on_behalf_of: str | None,
) -> Actor:
    """The actor of a ticket command on `agreement_id`, or `ActingRefused`."""
    if actor.person_id is not None:
        if on_behalf_of is not None:
            raise ActingRefused(
                "body.on_behalf_of: a person's credential acts as that person only; "
                "on_behalf_of is for integration tokens"
            )
        if role is not Role.ADMIN:
            person = find_person(engine, str(actor.person_id))
            if not works_on(person, agreement_id):
                raise ActingRefused(
                    f"{person.email} does not work on agreement {agreement_id}; "
                    "ask an admin to grant a role there"
                )
        return actor
    if on_behalf_of is None:
        return actor
    try:
        person = find_person(engine, on_behalf_of)
    except PeopleStoreError:
        raise ActingRefused(f"body.on_behalf_of: no person {on_behalf_of!r}") from None
    if not person.active:
        raise ActingRefused(f"body.on_behalf_of: {person.email} is deactivated")
    if not works_on(person, agreement_id):
        raise ActingRefused(
            f"body.on_behalf_of: {person.email} does not work on agreement {agreement_id}"
        )
    return actor.on_behalf_of(person.id, person.name, person.email)


def read_refusal(person: Person | None, role: Role, agreement_id: str) -> str | None:
    """Why a credential may not read a ticket of `agreement_id` (None: it may). Integrations
    and admins read everything; a person reads the agreements they work on."""
    if person is None or role is Role.ADMIN or works_on(person, agreement_id):
        return None
    return f"{person.email} does not work on agreement {agreement_id}"


def visible_agreement(person: Person | None, role: Role, wanted: str | None) -> str | None:
    """The agreement a person's ticket list is narrowed to: the one asked for (if theirs), or
    their only one; `ActingRefused` when that is ambiguous or not theirs."""
    if person is None or role is Role.ADMIN:
        return wanted
    mine = sorted({m.agreement_id for m in person.memberships if m.role in WORKING_ROLES})
    if wanted is not None:
        if wanted not in mine:
            raise ActingRefused(f"{person.email} does not work on agreement {wanted}")
        return wanted
    if len(mine) == 1:
        return mine[0]
    raise ActingRefused(
        "query.agreement: you work on "
        + (", ".join(mine) if mine else "no agreement")
        + "; name one of them"
    )
