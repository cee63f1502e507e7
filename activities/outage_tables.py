"""Recorded outages of services, for availability against the agreement's target.

A new outage is checked against those of its service inside the same transaction as its
insert, so an overlapping record is refused and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from activities.tables import _utc_column
from slaflow.availability import Outage, OutageInput, overlapping

__all__ = ["OutageOverlap", "OutageRow", "outages", "record_outage"]


class OutageRow(SQLModel, table=True):
    __tablename__ = "outages"

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=200, index=True)
    start: datetime = _utc_column(nullable=False, index=True)
    end: datetime = _utc_column(nullable=False)
    planned: bool
    note: str = Field(default="", max_length=2000)
    recorded_by: str = Field(default="", max_length=200)
    recorded_at: datetime = _utc_column(nullable=False)


class OutageOverlap(ValueError):
    """The new outage shares time with one already recorded for its service."""


def _outage(row: OutageRow) -> Outage:
    assert row.id is not None
    return Outage(
        id=row.id,
        service=row.service,
        start=row.start,
        end=row.end,
        planned=row.planned,
        note=row.note,
    )


def record_outage(engine: Engine, new: OutageInput, actor: str, now: datetime) -> Outage:
    """Keep `new`, or raise OutageOverlap naming the outage it overlaps."""
    with Session(engine) as session, session.begin():
        held = session.exec(
            select(OutageRow).where(
                col(OutageRow.service) == new.service,
                col(OutageRow.start) < new.end,
                col(OutageRow.end) > new.start,
            )
        ).all()
        clash = overlapping(new, [_outage(r) for r in held])
        if clash is not None:
            raise OutageOverlap(
                f"body.start: overlaps outage {clash.id} of {clash.service} "
                f"({clash.start.isoformat()} to {clash.end.isoformat()})"
            )
        row = OutageRow(
            service=new.service,
            start=new.start.astimezone(UTC),
            end=new.end.astimezone(UTC),
            planned=new.planned,
            note=new.note,
            recorded_by=actor,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        return _outage(row)


def outages(engine: Engine, start: datetime, end: datetime) -> list[Outage]:
    """Every outage sharing time with [start, end), earliest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutageRow)
            .where(col(OutageRow.start) < end, col(OutageRow.end) > start)
            .order_by(col(OutageRow.start))
        ).all()
        return [_outage(r) for r in rows]
