"""The people directory: add, find, deactivate people; grant and revoke their roles on
agreements; seed them from agreement files (tables `people` and `memberships`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.people_tables import MembershipRow, PersonRow
from slaflow.agreement import Agreement
from slaflow.people import PersonRole, normal_email, people_of_agreement


class PeopleStoreError(LookupError):
    """A directory operation refused; the message says why."""


class PersonNotFound(PeopleStoreError):
    pass


class PersonConflict(PeopleStoreError):
    pass


@dataclass(frozen=True)
class Membership:
    agreement_id: str
    role: PersonRole


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    slack_user_id: str | None
    active: bool
    memberships: tuple[Membership, ...]

    def roles_on(self, agreement_id: str) -> set[PersonRole]:
        return {m.role for m in self.memberships if m.agreement_id == agreement_id}


def _person(session: Session, row: PersonRow) -> Person:
    assert row.id is not None
    rows = session.exec(
        select(MembershipRow)
        .where(MembershipRow.person_id == row.id)
        .order_by(col(MembershipRow.agreement_id), col(MembershipRow.role))
    )
    return Person(
        id=row.id,
        name=row.name,
        email=row.email,
        slack_user_id=row.slack_user_id,
        active=row.active,
        memberships=tuple(Membership(m.agreement_id, PersonRole(m.role)) for m in rows),
    )


def add_person(
    engine: Engine, name: str, email: str, slack_user_id: str | None, now: datetime
) -> Person:
    row = PersonRow(
        name=name.strip(),
        email=normal_email(email),
        slack_user_id=(slack_user_id or "").strip() or None,
        created_at=now,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise PersonConflict(
                f"a person with the email {row.email} or Slack user id "
                f"{row.slack_user_id} exists already"
            ) from None
        return _person(session, row)


def _row(session: Session, key: str) -> PersonRow | None:
    key = key.strip()
    if key.isascii() and key.isdigit():
        number = int(key)
        return session.get(PersonRow, number) if number < 2**63 else None
    return session.exec(select(PersonRow).where(PersonRow.email == key.lower())).first()


def find_person(engine: Engine, key: str) -> Person:
    """By numeric id, else by email."""
    with Session(engine) as session:
        row = _row(session, key)
        if row is None:
            raise PersonNotFound(
                f"no person has the id or email {key!r}; see `slaflow person list` or GET /people"
            )
        return _person(session, row)


def person_by_id(engine: Engine, person_id: int) -> Person | None:
    with Session(engine) as session:
        row = session.get(PersonRow, person_id)
        return None if row is None else _person(session, row)


def person_by_slack(engine: Engine, slack_user_id: str) -> Person | None:
    with Session(engine) as session:
        row = session.exec(
            select(PersonRow).where(PersonRow.slack_user_id == slack_user_id)
        ).first()
        return None if row is None else _person(session, row)


def list_people(engine: Engine, agreement_id: str | None = None) -> list[Person]:
    with Session(engine) as session:
        query = select(PersonRow).order_by(col(PersonRow.id))
        if agreement_id is not None:
            members = select(MembershipRow.person_id).where(
                MembershipRow.agreement_id == agreement_id
            )
            query = query.where(col(PersonRow.id).in_(members))
        return [_person(session, row) for row in session.exec(query)]


def set_active(engine: Engine, key: str, active: bool) -> Person:
    """Deactivating a person ends every credential of theirs (tokens, sessions, links)."""
    with Session(engine, expire_on_commit=False) as session:
        row = _row(session, key)
        if row is None:
            raise PersonNotFound(f"no person has the id or email {key!r}")
        row.active = active
        session.add(row)
        session.commit()
        return _person(session, row)


def grant(engine: Engine, key: str, agreement_id: str, role: PersonRole) -> Person:
    with Session(engine, expire_on_commit=False) as session:
        row = _row(session, key)
        if row is None:
            raise PersonNotFound(f"no person has the id or email {key!r}")
        assert row.id is not None
        session.add(MembershipRow(person_id=row.id, agreement_id=agreement_id, role=role.value))
        with contextlib.suppress(IntegrityError):  # granted already: nothing to do
            session.commit()
        session.rollback()
        return _person(session, row)


def revoke(engine: Engine, key: str, agreement_id: str, role: PersonRole) -> Person:
    with Session(engine, expire_on_commit=False) as session:
        row = _row(session, key)
        if row is None:
            raise PersonNotFound(f"no person has the id or email {key!r}")
        gone = session.exec(
            delete(MembershipRow).where(
                col(MembershipRow.person_id) == row.id,
                col(MembershipRow.agreement_id) == agreement_id,
                col(MembershipRow.role) == role.value,
            )
        )
        session.commit()
        if gone.rowcount == 0:
            raise PersonConflict(
                f"{row.email} has no {role.value} role on agreement {agreement_id}"
            )
        return _person(session, row)


def seed_people(engine: Engine, agreement_id: str, agreement: Agreement, now: datetime) -> None:
    """Everyone the agreement file names becomes a person with their role on it; people and
    roles already there are left alone (the directory is the truth once seeded)."""
    for seed in people_of_agreement(agreement):
        with Session(engine) as session:
            known = session.exec(select(PersonRow).where(PersonRow.email == seed.email)).first()
        if known is None:
            slack = seed.slack_user_id
            with Session(engine) as session:
                if (
                    slack
                    and session.exec(
                        select(PersonRow).where(PersonRow.slack_user_id == slack)
                    ).first()
                ):
                    slack = None  # someone else has it: the directory wins
            with contextlib.suppress(PersonConflict):  # another process added them first
                add_person(engine, seed.name, seed.email, slack, now)
        grant(engine, seed.email, agreement_id, seed.role)
