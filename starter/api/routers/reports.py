"""Service-level reports from ticket facts: JSON, and the same figures as CSV.

Every report covers the tickets opened in ``[from, to)``; `from` and `to` are ISO 8601 dates or
times (a time without a zone, or a date alone, is UTC); `to` defaults to now and `from` to
`SLAFLOW_REPORT_DAYS` (30) days before it. Figures are defined in `slaflow.reports`. Sync
routes: SQLAlchemy blocks, so FastAPI runs them on its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import PlainTextResponse

from slaflow import reports
from slaflow.customers import SLUG_PATTERN
from slaflow.people import PersonRole
from slaflow.reports import Counting, GroupBy
from slaflow.roles import Role
from starter import report_formats, reports_service
from starter.api.auth import requires
from starter.api.deps import EngineDep, SettingsDep
from starter.api.errors import json_responses, responses
from starter.api.token_resolver import Principal
from starter.reports_service import Period, ReportError, Scope

router = APIRouter(prefix="/reports", tags=["reports"])
R = TypeVar("R")

From = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=reports_service.MOMENT_PATTERN,
        description="Start (inclusive) by opened_at: an ISO 8601 date or date-time (UTC without "
        "an offset); default `to` minus SLAFLOW_REPORT_DAYS.",
        examples=["2026-11-01", "2026-11-01T00:00:00Z"],
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        pattern=reports_service.MOMENT_PATTERN,
        description="End (exclusive) by opened_at, like `from`; default now.",
        examples=["2026-12-01", "2026-12-01T00:00:00+01:00"],
    ),
]
GroupByQuery = Annotated[GroupBy, Query(description="How to group the tickets.")]
ScopeQuery = Annotated[Scope, Query()]
"""`customer` and `agreement`: only that customer's or agreement's tickets."""
CountingQuery = Annotated[
    Counting,
    Query(
        description="Which tickets count: `resolved` (resolved at least once) or "
        "`completed_or_breached` (also open tickets with a breached target)."
    ),
]
TrendGroupBy = Annotated[
    GroupBy | None, Query(description="Split each week per group (not `week`); default none.")
]


def _csv_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 is text/csv; the errors stay JSON. Given without `model`, so FastAPI does not
    document them in the route's CSV media type (these entries override the router's)."""
    documented: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "A header, then one row per item.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
    return {**documented, **json_responses(401, 403, 422)}


CSV = _csv_responses()


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


def _run(compute: Callable[[], R]) -> R:
    """A bad parameter found past validation (to before from) is a 422 naming it."""
    try:
        return compute()
    except ReportError as exc:
        raise HTTPException(422, detail=exc.message) from exc


def _span(start: str | None, end: str | None, days: int, scope: Scope) -> Period:
    return _run(
        lambda: reports_service.period(
            reports_service.parse_moment("from", start),
            reports_service.parse_moment("to", end),
            days=days,
            scope=scope,
        )
    )


def _csv(report: report_formats.Report, name: str) -> CsvResponse:
    return CsvResponse(
        report_formats.to_csv(report),
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _sla(
    engine: EngineDep,
    settings: SettingsDep,
    scope: Scope,
    start: From,
    end: To,
    group_by: GroupByQuery,
    counting: CountingQuery,
) -> reports.SlaReport:
    span = _span(start, end, settings.report_days, scope)
    return reports_service.sla(engine, span, group_by, counting)


@router.get(
    "/sla",
    response_model=reports.SlaReport,
    summary="SLA figures per group: compliance, MTTA/MTTR, breaches, escalations, reopens",
    responses=responses(401, 403, 422),
)
def sla(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: GroupByQuery = GroupBy.PRIORITY,
    counting: CountingQuery = Counting.RESOLVED,
) -> reports.SlaReport:
    """Per group of the tickets opened in [from, to), and for all of them (`totals`)."""
    return _sla(engine, settings, scope, start, end, group_by, counting)


@router.get(
    "/sla.csv",
    response_class=CsvResponse,
    summary="The SLA figures as CSV: one row per group, then the totals as group 'all'",
    responses=CSV,
)
def sla_csv(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: GroupByQuery = GroupBy.PRIORITY,
    counting: CountingQuery = Counting.RESOLVED,
) -> CsvResponse:
    report = _sla(engine, settings, scope, start, end, group_by, counting)
    return _csv(report, f"sla-by-{group_by.value}")


def _trends(
    engine: EngineDep,
    settings: SettingsDep,
    scope: Scope,
    start: From,
    end: To,
    group_by: TrendGroupBy,
    counting: CountingQuery,
) -> reports.TrendsReport:
    span = _span(start, end, settings.report_days, scope)
    return _run(lambda: reports_service.trends(engine, span, group_by, counting))


@router.get(
    "/trends",
    response_model=reports.TrendsReport,
    summary="The SLA figures per ISO week, with the change against the week before",
    responses=responses(401, 403, 422),
)
def trends(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: TrendGroupBy = None,
    counting: CountingQuery = Counting.RESOLVED,
) -> reports.TrendsReport:
    """Whole ISO weeks (Monday 00:00 UTC) overlapping [from, to), each counting the tickets
    opened in it."""
    return _trends(engine, settings, scope, start, end, group_by, counting)


@router.get(
    "/trends.csv",
    response_class=CsvResponse,
    summary="Weekly trends as CSV: one row per group and week",
    responses=CSV,
)
def trends_csv(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: TrendGroupBy = None,
    counting: CountingQuery = Counting.RESOLVED,
) -> CsvResponse:
    return _csv(_trends(engine, settings, scope, start, end, group_by, counting), "trends")


Threshold = Annotated[
    float | None,
    Query(
        ge=0,
        le=1,
        description="A compliance drop larger than this fraction deviates; default "
        "SLAFLOW_REPORT_DEVIATION_DROP (0.05).",
    ),
]


def _deviations(
    engine: EngineDep,
    settings: SettingsDep,
    scope: Scope,
    start: From,
    end: To,
    group_by: GroupByQuery,
    threshold: Threshold,
    counting: CountingQuery,
) -> reports.DeviationsReport:
    span = _span(start, end, settings.report_days, scope)
    drop = settings.report_deviation_drop if threshold is None else threshold
    return reports_service.deviations(engine, span, group_by, drop, counting)


@router.get(
    "/deviations",
    response_model=reports.DeviationsReport,
    summary="Groups below their compliance objective or dropping against the previous period",
    responses=responses(401, 403, 422),
)
def deviations(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: GroupByQuery = GroupBy.PRIORITY,
    threshold: Threshold = None,
    counting: CountingQuery = Counting.RESOLVED,
) -> reports.DeviationsReport:
    """Compared with the period of the same length just before `from`; each deviation lists
    the tickets that breached the target."""
    return _deviations(engine, settings, scope, start, end, group_by, threshold, counting)


@router.get(
    "/deviations.csv",
    response_class=CsvResponse,
    summary="Deviations as CSV: one row per deviation",
    responses=CSV,
)
def deviations_csv(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    group_by: GroupByQuery = GroupBy.PRIORITY,
    threshold: Threshold = None,
    counting: CountingQuery = Counting.RESOLVED,
) -> CsvResponse:
    report = _deviations(engine, settings, scope, start, end, group_by, threshold, counting)
    return _csv(report, "deviations")


Top = Annotated[int, Query(ge=1, le=1000, description="Most escalated customers and channels.")]


def _escalations(
    engine: EngineDep, settings: SettingsDep, scope: Scope, start: From, end: To, top: Top
) -> reports.EscalationReport:
    return reports_service.escalations(engine, _span(start, end, settings.report_days, scope), top)


@router.get(
    "/escalations",
    response_model=reports.EscalationReport,
    summary="Learn from escalations: per tier resolved and time to acknowledge; most escalated",
    responses=responses(401, 403, 422),
)
def escalations(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    top: Top = 10,
) -> reports.EscalationReport:
    return _escalations(engine, settings, scope, start, end, top)


@router.get(
    "/escalations.csv",
    response_class=CsvResponse,
    summary="Escalation analysis as CSV: tier rows, then customer and channel rows",
    responses=CSV,
)
def escalations_csv(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    top: Top = 10,
) -> CsvResponse:
    return _csv(_escalations(engine, settings, scope, start, end, top), "escalations")


QuickMinutes = Annotated[
    float | None,
    Query(
        ge=0,
        le=525_600,
        description="A pause this many minutes after a resume is a quick re-pause; default "
        "SLAFLOW_REPORT_QUICK_REPAUSE (10m).",
    ),
]
Share = Annotated[
    float | None,
    Query(
        gt=0,
        le=1,
        description="Flag tickets paused for more than this share of their life; default "
        "SLAFLOW_REPORT_PAUSED_SHARE (0.5).",
    ),
]


def _pauses(
    engine: EngineDep,
    settings: SettingsDep,
    scope: Scope,
    start: From,
    end: To,
    quick_repause_minutes: QuickMinutes,
    paused_share: Share,
) -> reports.PauseAudit:
    span = _span(start, end, settings.report_days, scope)
    quick = (
        settings.report_quick_repause
        if quick_repause_minutes is None
        else timedelta(minutes=quick_repause_minutes)
    )
    share = settings.report_paused_share if paused_share is None else paused_share
    return reports_service.pauses(engine, span, quick, share)


@router.get(
    "/pauses",
    response_model=reports.PauseAudit,
    summary="Pause audit: quick re-pauses after a resume, and tickets paused most of their life",
    responses=responses(401, 403, 422),
)
def pauses(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    quick_repause_minutes: QuickMinutes = None,
    paused_share: Share = None,
) -> reports.PauseAudit:
    return _pauses(engine, settings, scope, start, end, quick_repause_minutes, paused_share)


@router.get(
    "/pauses.csv",
    response_class=CsvResponse,
    summary="Pause audit as CSV: one row per flagged ticket",
    responses=CSV,
)
def pauses_csv(
    engine: EngineDep,
    settings: SettingsDep,
    scope: ScopeQuery,
    start: From = None,
    end: To = None,
    quick_repause_minutes: QuickMinutes = None,
    paused_share: Share = None,
) -> CsvResponse:
    report = _pauses(engine, settings, scope, start, end, quick_repause_minutes, paused_share)
    return _csv(report, "pauses")


def person_report_scope(request: Request) -> None:
    """A person's token reads the reports of the agreements they manage only: `agreement=`
    must name one (403 otherwise); admins and integrations read everyone's."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal) or principal.person is None:
        return
    if principal.role is Role.ADMIN:
        return
    wanted = request.query_params.get("agreement")
    if wanted is None or PersonRole.MANAGER not in principal.person.roles_on(wanted):
        managed = sorted(
            m.agreement_id for m in principal.person.memberships if m.role is PersonRole.MANAGER
        )
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="query.agreement: name an agreement you manage ("
            + (", ".join(managed) or "none")
            + ")",
        )


compliance_router = APIRouter(prefix="/compliance", tags=["reports"])


@compliance_router.get(
    "/{agreement_id}",
    response_model=reports.SlaReport,
    summary="One agreement's compliance report, for its own people (customer signatories too)",
    dependencies=requires(Role.INTAKE),
    responses=responses(401, 403, 422),
)
def compliance(
    agreement_id: Annotated[str, Path(pattern=SLUG_PATTERN, max_length=64)],
    engine: EngineDep,
    settings: SettingsDep,
    request: Request,
    start: From = None,
    end: To = None,
) -> reports.SlaReport:
    """The SLA figures per priority of one agreement. A person with any role on it may read
    it (a customer's signatories: this and nothing else); integrations need the manager role."""
    principal = getattr(request.state, "principal", None)
    assert isinstance(principal, Principal)
    person = principal.person
    allowed = (
        principal.role.includes(Role.MANAGER) and (person is None or principal.role is Role.ADMIN)
    ) or (person is not None and bool(person.roles_on(agreement_id)))
    if not allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"you have no role on agreement {agreement_id}",
        )
    scope = Scope(agreement=agreement_id)
    return _sla(engine, settings, scope, start, end, GroupBy.PRIORITY, Counting.RESOLVED)
