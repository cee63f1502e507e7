"""`POST /outages`, `GET /outages` and `GET /reports/availability`: outages recorded, and each
service's availability over a month against the agreement's target; `GET /reports/ola`: the
internal targets of each tier over a month."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from activities import agreement_store
from activities.outage_tables import outages as stored_outages
from slaflow.availability import Outage, OutageInput
from slaflow.customers import DEFAULT_AGREEMENT_ID, SLUG_PATTERN
from starter.api.deps import EngineDep
from starter.api.errors import responses
from starter.availability_service import (
    AvailabilityReport,
    OutageOverlap,
    add_outage,
    availability_report,
)
from starter.credits_service import MONTH_PATTERN, month_bounds
from starter.ola_service import OlaReport, ola_report

router = APIRouter(tags=["availability"])

Month = Annotated[
    str, Query(pattern=MONTH_PATTERN, description="The month, YYYY-MM (UTC).", examples=["2026-11"])
]
AgreementId = Annotated[str, Query(pattern=SLUG_PATTERN, description="The agreement's id.")]


@router.post(
    "/outages",
    response_model=Outage,
    status_code=status.HTTP_201_CREATED,
    summary="Record an outage of a service (start, end, planned or not)",
    responses=responses(400, 401, 403, 422),
)
def record(engine: EngineDep, outage: OutageInput) -> Outage:
    """Refused with 422 when it ends before it starts or overlaps another of its service."""
    try:
        return add_outage(engine, outage, actor="api")
    except OutageOverlap as error:
        raise HTTPException(422, detail=str(error)) from error


@router.get(
    "/outages",
    response_model=list[Outage],
    summary="Outages sharing time with a month",
    responses=responses(401, 403, 422),
)
def list_outages(engine: EngineDep, month: Month) -> list[Outage]:
    start, end = month_bounds(month)
    return stored_outages(engine, start, end)


@router.get(
    "/reports/availability",
    response_model=AvailabilityReport,
    summary="Availability per service over a month against the agreement's target",
    responses=responses(401, 403, 404, 422),
)
def availability(
    engine: EngineDep, month: Month, agreement: AgreementId = DEFAULT_AGREEMENT_ID
) -> AvailabilityReport:
    """Unplanned outages count; planned maintenance is excused up to the agreement's
    `maintenance_allowance` a month."""
    try:
        return availability_report(engine, agreement, month)
    except agreement_store.NoAgreementError as error:
        raise HTTPException(404, detail=f"query.agreement: {error}") from error


@router.get(
    "/reports/ola",
    response_model=OlaReport,
    summary="Internal targets per tier over a month: pages picked up within pick_up_within",
    responses=responses(401, 403, 404, 422),
)
def ola(
    engine: EngineDep, month: Month, agreement: AgreementId = DEFAULT_AGREEMENT_ID
) -> OlaReport:
    """Apart from the customer's targets: which tier picked up late, ticket by ticket."""
    try:
        return ola_report(engine, agreement, month)
    except agreement_store.NoAgreementError as error:
        raise HTTPException(404, detail=f"query.agreement: {error}") from error
