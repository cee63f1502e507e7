"""Internal-target (OLA) report of one agreement's month, from ticket facts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from activities import agreement_store
from slaflow.ola import OlaReport, pick_up
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
    matrix = agreement_store.agreement_of(row).escalation
    return OlaReport(
        agreement_id=agreement_id,
        agreement_version=row.number,
        start=start,
        end=end,
        tiers=pick_up(rows, matrix),
    )
