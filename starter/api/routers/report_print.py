"""`GET /reports/print`: one period's service-level report as a printable HTML page.

For stakeholders who will not open a dashboard: the summary, compliance per priority against
the objective, the weekly trend, the deviations with their tickets, the escalation analysis and
the pause audit, drawn on the server from the same functions as the JSON reports (so the figures
agree), with print CSS (A4, page breaks between sections). Print it, or save it as PDF from the
browser's print dialog. A sync route: SQLAlchemy blocks, so FastAPI runs it on its thread pool.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from activities import agreement_store
from slaflow.reports import Counting, GroupBy
from starter import reports_service
from starter.api.deps import EngineDep, SettingsDep
from starter.api.errors import json_responses
from starter.api.pages import PAGE_HEADERS, templates
from starter.api.routers.reports import From, ScopeQuery, To
from starter.reports_service import ReportError, Scope

router = APIRouter(tags=["reports"])

TOP = 10


def period_label(start: datetime, end: datetime) -> str:
    """'26 Oct 2026 - 22 Nov 2026' for whole days (the end is exclusive), else the times."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    midnight = datetime.min.time()
    if start.time() == midnight and end.time() == midnight:
        last = end - timedelta(days=1)
        if last.date() == start.date():
            return f"{start:%d %b %Y}"
        return f"{start:%d %b %Y} \N{EN DASH} {last:%d %b %Y}"
    return f"{start:%d %b %Y %H:%M} \N{EN DASH} {end:%d %b %Y %H:%M} UTC"


COUNTING = Counting.COMPLETED_OR_BREACHED
"""The page shows what the dashboard shows: open breaches count."""


def _scope_label(engine: Engine, scope: Scope) -> str:
    """Whose report it is, as the stakeholder reads it: "ACME Corp (acme)", "agreement x"."""
    parts = []
    if scope.customer is not None:
        known = agreement_store.customer(engine, scope.customer)
        parts.append(f"{known.name} ({known.id})" if known else scope.customer)
    if scope.agreement is not None:
        parts.append(f"agreement {scope.agreement}")
    return ", ".join(parts) or "all customers"


@router.get(
    "/reports/print",
    response_class=HTMLResponse,
    summary="A period's service-level report as a printable page (HTML with print CSS)",
    responses=json_responses(401, 403, 422),
)
def print_report(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: Annotated[
        GroupBy, Query(description="A second compliance table by this group (besides priority).")
    ] = GroupBy.PRIORITY,
) -> HTMLResponse:
    try:
        span = reports_service.period(
            reports_service.parse_moment("from", start),
            reports_service.parse_moment("to", end),
            days=settings.report_days,
            scope=scope,
        )
        by_priority = reports_service.sla(engine, span, GroupBy.PRIORITY, COUNTING)
        by_group = (
            reports_service.sla(engine, span, group_by, COUNTING)
            if group_by is not GroupBy.PRIORITY
            else None
        )
        trends = reports_service.trends(engine, span, None, COUNTING)
        deviations = reports_service.deviations(
            engine, span, GroupBy.PRIORITY, settings.report_deviation_drop, COUNTING
        )
        escalations = reports_service.escalations(engine, span, TOP)
        pauses = reports_service.pauses(
            engine, span, settings.report_quick_repause, settings.report_paused_share
        )
    except ReportError as exc:
        raise HTTPException(422, detail=exc.message) from exc
    return templates.TemplateResponse(
        request,
        "report_print.html",
        {
            "period": period_label(span.start, span.end),
            "scope": _scope_label(engine, scope),
            "customer": scope.customer,
            "start": span.start,
            "end": span.end,
            "generated": datetime.now(UTC),
            "sla": by_priority,
            "by_group": by_group,
            "trend": trends.series[0].points if trends.series else [],
            "deviations": deviations,
            "escalations": escalations,
            "pauses": pauses,
        },
        headers=PAGE_HEADERS,
    )
