"""Customers, agreements and their numbered versions in the database: seeded from the agreement
files, read by agreement and version or time. Every version belongs to one agreement; today's
single agreement is the agreement `default`."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.people_store import seed_people
from activities.people_tables import MembershipRow
from activities.tables import AgreementRow, AgreementVersionRow, CustomerRow
from slaflow.agreement import Agreement
from slaflow.agreement_file import AgreementFile, load_agreement_set
from slaflow.customers import (
    DEFAULT_AGREEMENT_ID,
    AgreementHeader,
    AgreementSelection,
    Customer,
    Rule,
    select_agreement,
)
from slaflow.tiers import Channel

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NoAgreementError(LookupError):
    """No such agreement, or no version of it in force at the time asked about."""


def seed_agreements(engine: Engine, path: Path) -> list[AgreementVersionRow]:
    """Version 1 of every agreement at `path` (a file or a directory) not yet in the store;
    agreements already there are left alone (later versions come from amendments). Returns
    version 1 of every agreement found at `path`.

    Processes starting together may all find an agreement missing: each inserts number 1
    explicitly, so exactly one succeeds and the others read its row.
    """
    files = load_agreement_set(path)
    rows = [seed_file(engine, f) for f in files]
    for file in files:
        seed_people_once(engine, file.header.id, file.agreement)
    return rows


def seed_people_once(engine: Engine, agreement_id: str, agreement: Agreement) -> None:
    """The people an agreement file names, while nobody works on that agreement yet: once the
    directory has people for it, it is managed there (a revoked role stays revoked)."""
    with Session(engine) as session:
        staffed = session.exec(
            select(MembershipRow.id).where(MembershipRow.agreement_id == agreement_id)
        ).first()
    if staffed is None:
        seed_people(engine, agreement_id, agreement, datetime.now(UTC))


def seed_file(engine: Engine, file: AgreementFile) -> AgreementVersionRow:
    """Version 1 of one agreement (its customer and agreement rows first), unless stored."""
    agreement_id = file.header.id
    with Session(engine) as session:
        exists = session.get(AgreementRow, agreement_id) is not None
        first = session.exec(
            select(AgreementVersionRow)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(col(AgreementVersionRow.number))
        ).first()
    if first is not None:
        return first
    if not exists:
        with contextlib.suppress(IntegrityError):  # another process added it first
            _add_agreement(engine, file)
    try:
        return add_version(
            engine,
            file.agreement,
            agreement_id=agreement_id,
            effective_from=EPOCH,
            source=f"file:{file.source}",
            number=1,
        )
    except IntegrityError:
        return version(engine, 1, agreement_id)


def _add_agreement(engine: Engine, file: AgreementFile) -> None:
    header = file.header
    with Session(engine) as session:
        if header.customer is not None and session.get(CustomerRow, header.customer.id) is None:
            session.add(CustomerRow(id=header.customer.id, name=header.customer.name))
            session.flush()
        session.add(
            AgreementRow(
                id=header.id,
                customer_id=header.customer_id,
                is_default=header.default,
                rules=[r.model_dump(mode="json") for r in header.rules],
                source=f"file:{file.source}",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()


def add_version(
    engine: Engine,
    agreement: Agreement,
    *,
    effective_from: datetime,
    source: str,
    agreement_id: str = DEFAULT_AGREEMENT_ID,
    signatures: list[dict[str, Any]] | None = None,
    diff: list[dict[str, Any]] | None = None,
    number: int | None = None,
) -> AgreementVersionRow:
    """Store version `number` of `agreement_id`, by default its next one; a concurrent writer
    of the same number makes this raise IntegrityError, so no two versions share a number.
    The agreement row is created for the default agreement if missing (tests, old seeds)."""
    with Session(engine) as session:
        if session.get(AgreementRow, agreement_id) is None:
            if agreement_id != DEFAULT_AGREEMENT_ID:
                raise NoAgreementError(f"agreement {agreement_id!r} does not exist")
            session.add(
                AgreementRow(id=agreement_id, is_default=True, created_at=datetime.now(UTC))
            )
            session.commit()
        if number is None:
            number = (latest_number(engine, agreement_id) or 0) + 1
        row = AgreementVersionRow(
            agreement_id=agreement_id,
            number=number,
            effective_from=effective_from,
            created_at=datetime.now(UTC),
            source=source,
            document=agreement.model_dump(mode="json"),
            signatures=signatures or [],
            diff=diff or [],
        )
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def latest_number(engine: Engine, agreement_id: str = DEFAULT_AGREEMENT_ID) -> int | None:
    with Session(engine) as session:
        return session.exec(
            select(AgreementVersionRow.number)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(col(AgreementVersionRow.number).desc())
        ).first()


def version(
    engine: Engine, number: int, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> AgreementVersionRow:
    with Session(engine) as session:
        row = session.get(AgreementVersionRow, (agreement_id, number))
        if row is None:
            raise NoAgreementError(f"agreement {agreement_id!r} has no version {number}")
        return row


def latest_version(engine: Engine, agreement_id: str = DEFAULT_AGREEMENT_ID) -> AgreementVersionRow:
    """The agreement's newest version (in force or still to take effect): the only one an
    amendment may amend, since committing refuses any other."""
    with Session(engine) as session:
        row = session.exec(
            select(AgreementVersionRow)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(col(AgreementVersionRow.number).desc())
        ).first()
    if row is None:
        raise NoAgreementError(f"agreement {agreement_id!r} has no version stored yet")
    return row


def version_in_force(
    engine: Engine, at: datetime, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> AgreementVersionRow:
    """The agreement's newest version whose effective time is not after `at` (aware).

    Rows come back as aware UTC datetimes on every backend (`tables.UTCDateTime`)."""
    with Session(engine) as session:
        rows = session.exec(
            select(AgreementVersionRow)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(col(AgreementVersionRow.number).desc())
        ).all()
    for row in rows:
        if row.effective_from <= at:
            return row
    raise NoAgreementError(
        f"no version of agreement {agreement_id!r} is in force at {at.isoformat()}"
    )


def all_versions(
    engine: Engine, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> list[AgreementVersionRow]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AgreementVersionRow)
                .where(AgreementVersionRow.agreement_id == agreement_id)
                .order_by(col(AgreementVersionRow.number))
            )
        )


def agreement_of(row: AgreementVersionRow) -> Agreement:
    return Agreement.model_validate(row.document)


# ----- customers and agreements ------------------------------------------------------------------


def customers(engine: Engine) -> list[CustomerRow]:
    with Session(engine) as session:
        return list(session.exec(select(CustomerRow).order_by(col(CustomerRow.id))))


def customer(engine: Engine, customer_id: str) -> CustomerRow | None:
    with Session(engine) as session:
        return session.get(CustomerRow, customer_id)


def agreements(engine: Engine, customer_id: str | None = None) -> list[AgreementRow]:
    """Every agreement, or one customer's, by id."""
    query = select(AgreementRow).order_by(col(AgreementRow.id))
    if customer_id is not None:
        query = query.where(AgreementRow.customer_id == customer_id)
    with Session(engine) as session:
        return list(session.exec(query))


def agreement(engine: Engine, agreement_id: str) -> AgreementRow:
    with Session(engine) as session:
        row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise NoAgreementError(f"agreement {agreement_id!r} does not exist")
    return row


def header_of(row: AgreementRow, customer_row: CustomerRow | None) -> AgreementHeader:
    return AgreementHeader(
        id=row.id,
        customer=Customer(id=customer_row.id, name=customer_row.name) if customer_row else None,
        default=row.is_default,
        rules=[Rule.model_validate(r) for r in row.rules or []],
    )


def select_for(
    engine: Engine, customer_id: str, service: str | None, channel: Channel, tags: list[str]
) -> AgreementSelection:
    """The agreement a new ticket gets. Reads only the customer's agreements and the default,
    so the cost does not grow with the number of agreements held."""
    with Session(engine) as session:
        rows = session.exec(
            select(AgreementRow).where(
                or_(col(AgreementRow.customer_id) == customer_id, col(AgreementRow.is_default))
            )
        ).all()
        known = session.get(CustomerRow, customer_id) if any(r.customer_id for r in rows) else None
    headers = [header_of(r, known if r.customer_id else None) for r in rows]
    return select_agreement(headers, customer_id, service, channel, tags)
