"""Closing figures of service-level windows: one row per agreement, objective and window.

The first evaluation after a window ends is the one kept (INSERT ... ON CONFLICT DO NOTHING):
the figure management was told of stays the figure reported, even if a ticket opened in the
window is decided later, and a retried activity or a second worker writes nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select
from sqlmodel import Field, Session, SQLModel, col

from activities.tables import _utc_column
from slaflow.service_levels import ObjectiveStatus

__all__ = ["ServiceLevelResultRow", "closed_windows", "record_closing"]


class ServiceLevelResultRow(SQLModel, table=True):
    """One window's closing figure and verdict."""

    __tablename__ = "service_level_results"

    agreement_id: str = Field(primary_key=True, max_length=64)
    objective: str = Field(primary_key=True, max_length=100, description="e.g. P1-resolution-month")
    window_start: datetime = _utc_column(primary_key=True)
    window_end: datetime = _utc_column(nullable=False)
    percent: float
    measured: int
    misses: int
    compliance_percent: float | None = None
    met: bool
    recorded_at: datetime = _utc_column(nullable=False)


def _table() -> Table:
    table: Table = ServiceLevelResultRow.__table__  # type: ignore[attr-defined]
    return table


def record_closing(
    engine: Engine, agreement_id: str, closing: list[ObjectiveStatus], recorded_at: datetime
) -> int:
    """Keep each closing figure not kept yet; how many rows were new."""
    from activities.db import upsert_insert  # db imports this module to register the table

    table = _table()
    new = 0
    with engine.begin() as connection:
        for status in closing:
            statement = (
                upsert_insert(engine, table)
                .values(
                    agreement_id=agreement_id,
                    objective=status.objective,
                    window_start=status.window.start.astimezone(UTC),
                    window_end=status.window.end.astimezone(UTC),
                    percent=status.percent,
                    measured=status.measured,
                    misses=status.misses,
                    compliance_percent=status.compliance_percent,
                    met=bool(status.met),
                    recorded_at=recorded_at.astimezone(UTC),
                )
                .on_conflict_do_nothing(
                    index_elements=[table.c.agreement_id, table.c.objective, table.c.window_start]
                )
                .returning(table.c.objective)
            )
            new += connection.execute(statement).first() is not None
    return new


def closed_windows(engine: Engine, agreement_id: str | None = None) -> list[ServiceLevelResultRow]:
    """Kept closing figures, newest window first (one agreement's, or all)."""
    query = select(ServiceLevelResultRow).order_by(
        col(ServiceLevelResultRow.window_start).desc(), col(ServiceLevelResultRow.objective)
    )
    if agreement_id is not None:
        query = query.where(col(ServiceLevelResultRow.agreement_id) == agreement_id)
    with Session(engine) as session:
        return list(session.scalars(query).all())
