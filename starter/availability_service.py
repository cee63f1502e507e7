"""Outages recorded by API and CLI, and availability per service and month against an
agreement's target (arithmetic in `slaflow.availability`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine

from activities import agreement_store
from activities.outage_tables import OutageOverlap, outages, record_outage
from slaflow.availability import Outage, OutageInput, ServiceAvailability, service_availability
from starter.credits_service import month_bounds

__all__ = ["AvailabilityReport", "OutageOverlap", "add_outage", "availability_report"]


class AvailabilityReport(BaseModel):
    agreement_id: str
    agreement_version: int
    month: str
    target_percent: float
    maintenance_allowance_seconds: float
    services: list[ServiceAvailability]
    outages: list[Outage]


def add_outage(engine: Engine, new: OutageInput, actor: str) -> Outage:
    """Record an outage; OutageOverlap (its message names the field) if it overlaps."""
    return record_outage(engine, new, actor, datetime.now(UTC))


def availability_report(engine: Engine, agreement_id: str, month: str) -> AvailabilityReport:
    """Each service of the agreement's scope (or, with no scope, each service with an outage)
    over `month` (YYYY-MM), under the version in force at the month's end.
    Raises agreement_store.NoAgreementError for an unknown agreement."""
    start, end = month_bounds(month)
    agreement_store.agreement(engine, agreement_id)  # unknown: NoAgreementError
    row = agreement_store.version_in_force(engine, end - timedelta(microseconds=1), agreement_id)
    agreement = agreement_store.agreement_of(row)
    held = outages(engine, start, end)
    services = list(agreement.scope) or sorted({o.service for o in held})
    mine = [o for o in held if o.service in services]
    return AvailabilityReport(
        agreement_id=agreement_id,
        agreement_version=row.number,
        month=month,
        target_percent=agreement.availability_target,
        maintenance_allowance_seconds=agreement.maintenance_allowance.total_seconds(),
        services=[
            service_availability(
                s, mine, start, end, agreement.availability_target, agreement.maintenance_allowance
            )
            for s in services
        ],
        outages=mine,
    )
