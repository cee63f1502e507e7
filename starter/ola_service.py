"""Internal-target (OLA) report of one agreement's month, from ticket facts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from activities import agreement_store
from activities.tables import TicketFactRow
from slaflow.ola import OlaReport, pick_up, third_party_waits
from slaflow.tickets import Wait
from starter.credits_service import month_bounds
from starter.reports_service import CORE, Scope, load_rows


def ola_report(engine: Engine, agreement_id: str, month: str) -> OlaReport:
    """Each tier's pick-up against its target under the version in force at the month's end.
    Raises agreement_store.NoAgreementError for an unknown agreement."""
    start, end = month_bounds(month)
    agreement_store.agreement(engine, agreement_id)
    row = agreement_store.version_in_force(engine, end - timedelta(microseconds=1), agreement_id)
    rows = load_rows(
        engine, start, end, columns=CORE, tier_acks=True, scope=Scope(agreement=agreement_id)
    )
    agreement = agreement_store.agreement_of(row)
    return OlaReport(
        agreement_id=agreement_id,
        agreement_version=row.number,
        start=start,
        end=end,
        tiers=pick_up(rows, agreement.escalation),
        third_parties=third_party_waits(
            _waits(engine, agreement_id, start, end), agreement.third_parties
        ),
    )


def _waits(
    engine: Engine, agreement_id: str, start: datetime, end: datetime
) -> list[tuple[str, Wait]]:
    query = select(col(TicketFactRow.ticket_id), col(TicketFactRow.waits)).where(
        col(TicketFactRow.agreement_id) == agreement_id,
        col(TicketFactRow.opened_at) >= start,
        col(TicketFactRow.opened_at) < end,
        col(TicketFactRow.measured),
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [(ticket, Wait.model_validate(w)) for ticket, waits in rows for w in waits or []]
