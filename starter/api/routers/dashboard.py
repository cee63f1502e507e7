"""`GET /dashboard`: the managers' page. The page is a shell; its script fetches the JSON
routes (/board, /reports/...) with the same credentials and redraws every `refresh` seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from activities import agreement_store
from slaflow.customers import SLUG_PATTERN
from slaflow.iso_time import IsoDate
from slaflow.reports import GroupBy
from starter.api.deps import EngineDep, SettingsDep
from starter.api.errors import json_responses
from starter.api.pages import PAGE_HEADERS, templates

router = APIRouter(tags=["dashboard"])

DEFAULT_REFRESH_SECONDS = 30


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="The managers' dashboard (HTML)",
    responses=json_responses(401, 403, 422),
)
async def dashboard(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    start: Annotated[
        IsoDate | None,
        Query(alias="from", description="First day shown (UTC); default 4 weeks ago."),
    ] = None,
    end: Annotated[
        IsoDate | None, Query(alias="to", description="Last day shown (UTC), inclusive; today.")
    ] = None,
    group_by: Annotated[GroupBy, Query(description="How compliance is grouped.")] = (
        GroupBy.PRIORITY
    ),
    refresh: Annotated[
        int, Query(ge=5, le=3600, description="Seconds between refreshes.")
    ] = DEFAULT_REFRESH_SECONDS,
    customer: Annotated[
        str, Query(max_length=200, description="Only this customer's tickets; empty: all.")
    ] = "",
    agreement: Annotated[
        str,
        Query(pattern=f"^$|{SLUG_PATTERN}", description="Only this agreement's; empty: all."),
    ] = "",
) -> HTMLResponse:
    """The live board, compliance per group against the objective, MTTA/MTTR trends, the
    escalation funnel, deviations and service-level budgets, for the period chosen."""
    today = datetime.now(UTC).date()
    last = end or today
    first = start or (last - timedelta(days=settings.report_days - 1))
    if last < first:
        raise HTTPException(422, detail=f"to: {last} is before from ({first})")
    agreements = [row.id for row in agreement_store.agreements(engine)]
    if agreement and agreement not in agreements:
        raise HTTPException(422, detail=f"agreement: there is no agreement {agreement!r}")
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "group_by": group_by.value,
            "groups": [g.value for g in GroupBy],
            "refresh_seconds": refresh,
            "customer": customer,
            "agreement": agreement,
            "agreements": agreements,
        },
        headers=PAGE_HEADERS,
    )
