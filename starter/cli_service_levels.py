"""`slaflow service-levels`: each service-level objective over its current window, as a table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from slaflow.service_levels import ObjectiveStatus
    from workflows.service_level_calls import AgreementServiceLevels, ServiceLevelReport


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


async def _load(settings: Settings) -> ServiceLevelReport:
    from activities.db import make_engine
    from activities.service_levels import VisibilityBreaches, current_report
    from starter.tickets_service import connect_client

    engine = make_engine(settings.resolved_database_url)
    try:
        client = await connect_client(settings)
        return await current_report(
            engine, VisibilityBreaches(client), settings.task_queue, datetime.now(UTC)
        )
    finally:
        engine.dispose()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g} %"


def render(report: ServiceLevelReport) -> str:
    """The default agreement's objectives, then every other agreement's."""
    when = report.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [p for p in report.parts() if p.agreement_version or p is report]
    if report.agreements and not report.agreement_version:
        parts = list(report.agreements)  # no default agreement: only the others
    return "\n\n".join(_render_part(part, when) for part in parts)


def _render_part(report: AgreementServiceLevels, when: str) -> str:
    which = "" if report.agreement_id == DEFAULT_AGREEMENT_ID else f"{report.agreement_id} "
    lines = [
        f"Service levels of agreement {which}version {report.agreement_version} "
        f"({report.agreement_name}) as of {when}; "
        f"{report.open_breaches} open breached ticket(s) counted live"
    ]
    if not report.statuses:
        lines.append("the agreement in force states no service-level objectives (service_levels)")
        return "\n".join(lines)
    rows = [
        [
            "OBJECTIVE",
            "TARGET %",
            "WINDOW",
            "MEASURED",
            "MISSES",
            "COMPLIANCE",
            "ALLOWED",
            "SPENT",
            "STATE",
            "WARNED",
        ]
    ]
    for s in report.statuses:
        state = s.state + (" (low volume)" if s.low_volume and s.measured else "")
        rows.append(
            [
                s.objective,
                f"{s.percent:g}",
                s.window.label,
                str(s.measured),
                str(s.misses),
                _percent(s.compliance_percent),
                f"{s.allowed_misses:g}",
                f"{s.spent_percent:g} % / {s.warn_when_spent} %",
                state,
                ", ".join(s.notified) or "-",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    if report.closing:
        lines.append("Windows closed last:")
        lines += [_closing_line(s) for s in report.closing]
    return "\n".join(lines)


def _closing_line(s: ObjectiveStatus) -> str:
    verdict = "met" if s.met else "MISSED"
    told = " (management told)" if "missed" in s.notified else ""
    return (
        f"  {s.objective} {s.window.label}: {s.measured} measured, {s.misses} missed, "
        f"{_percent(s.compliance_percent)} against {s.percent:g} %: {verdict}{told}"
    )


def service_levels(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each service-level objective over its current window: tickets measured, misses, error
    budget spent, state (ok, warning, exhausted) and the warnings already sent."""
    from sqlalchemy.exc import SQLAlchemyError
    from temporalio.service import RPCError

    from activities.agreement_store import NoAgreementError
    from starter.tickets_service import TicketError

    try:
        report = asyncio.run(_load(get_settings()))
    except TicketError as error:
        _fail(error.message)
    except NoAgreementError as error:
        _fail(str(error))
    except RPCError as error:
        _fail(f"Temporal visibility failed: {error.message}")
    except SQLAlchemyError as error:
        _fail(f"database: {type(error).__name__}: {str(error).splitlines()[0]}")
    typer.echo(report.model_dump_json(indent=2) if as_json else render(report))
