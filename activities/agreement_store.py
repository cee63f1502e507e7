"""Numbered agreement versions in the database: seeded from the file, read by version or time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.tables import AgreementVersionRow
from slaflow.agreement import Agreement
from slaflow.agreement_file import load_agreement

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NoAgreementError(LookupError):
    """No version is in force at the time asked about."""


def seed_agreement(engine: Engine, path: Path) -> AgreementVersionRow:
    """Version 1 from the agreement file on first start; later starts leave the store alone.

    Processes starting together (worker, API) may all find the store empty: each inserts
    number 1 explicitly, so exactly one succeeds and the others read its row. (Numbering it
    "next" would let a later starter add the file again as version 2.)
    """
    with Session(engine) as session:
        existing = session.exec(
            select(AgreementVersionRow).order_by(col(AgreementVersionRow.number)).limit(1)
        ).first()
        if existing is not None:
            return existing
    agreement = load_agreement(path)
    try:
        return add_version(engine, agreement, effective_from=EPOCH, source=f"file:{path}", number=1)
    except IntegrityError:  # another process seeded it first
        return version(engine, 1)


def add_version(
    engine: Engine,
    agreement: Agreement,
    *,
    effective_from: datetime,
    source: str,
    signatures: list[dict[str, Any]] | None = None,
    diff: list[dict[str, Any]] | None = None,
    number: int | None = None,
) -> AgreementVersionRow:
    """Store version `number`, by default the next one; a concurrent writer of the same number
    makes this raise IntegrityError, so no two versions ever share a number."""
    with Session(engine) as session:
        if number is None:
            latest = session.exec(
                select(AgreementVersionRow.number).order_by(col(AgreementVersionRow.number).desc())
            ).first()
            number = (latest or 0) + 1
        row = AgreementVersionRow(
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


def version(engine: Engine, number: int) -> AgreementVersionRow:
    with Session(engine) as session:
        row = session.get(AgreementVersionRow, number)
        if row is None:
            raise NoAgreementError(f"agreement version {number} does not exist")
        return row


def latest_version(engine: Engine) -> AgreementVersionRow:
    """The newest version (in force or still to take effect): the only one an amendment may
    amend, since committing refuses any other."""
    with Session(engine) as session:
        row = session.exec(
            select(AgreementVersionRow).order_by(col(AgreementVersionRow.number).desc())
        ).first()
    if row is None:
        raise NoAgreementError("no agreement version is stored yet")
    return row


def version_in_force(engine: Engine, at: datetime) -> AgreementVersionRow:
    """The newest version whose effective time is not after `at` (an aware datetime).

    Rows come back as aware UTC datetimes on every backend (`tables.UTCDateTime`)."""
    with Session(engine) as session:
        rows = session.exec(
            select(AgreementVersionRow).order_by(col(AgreementVersionRow.number).desc())
        ).all()
    for row in rows:
        if row.effective_from <= at:
            return row
    raise NoAgreementError(f"no agreement version is in force at {at.isoformat()}")


def all_versions(engine: Engine) -> list[AgreementVersionRow]:
    with Session(engine) as session:
        return list(
            session.exec(select(AgreementVersionRow).order_by(col(AgreementVersionRow.number)))
        )


def agreement_of(row: AgreementVersionRow) -> Agreement:
    return Agreement.model_validate(row.document)
