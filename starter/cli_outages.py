"""`slaflow outage add|list` and `slaflow availability`: outages and availability per service."""

from __future__ import annotations

import re
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

app = typer.Typer(help="Record and list outages of services.", no_args_is_help=True)

Month = Annotated[str, typer.Option(help="The month, YYYY-MM (UTC).")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _month(month: str) -> str:
    from starter.credits_service import MONTH_PATTERN

    if not re.fullmatch(MONTH_PATTERN, month):
        _fail(f"--month: {month!r} is not a month such as 2026-11")
    return month


@app.command("add")
def add(
    service: Annotated[str, typer.Option(help="The service that was down.")],
    start: Annotated[str, typer.Option(help="ISO 8601 with offset, e.g. 2026-11-03T10:00Z.")],
    end: Annotated[str, typer.Option(help="ISO 8601 with offset; after --start.")],
    planned: Annotated[bool, typer.Option("--planned", help="Planned maintenance.")] = False,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Record an outage; refused if it ends before it starts or overlaps another of its service."""
    from slaflow.availability import OutageInput
    from starter.availability_service import OutageOverlap, add_outage
    from starter.cli_report import _engine

    try:
        outage = OutageInput.model_validate(
            {"service": service, "start": start, "end": end, "planned": planned, "note": note}
        )
    except ValidationError as error:
        first = error.errors()[0]
        _fail(f"--{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    try:
        kept = add_outage(_engine(), outage, actor="cli")
    except OutageOverlap as error:
        _fail(str(error).replace("body.start", "--start"))
    typer.echo(f"outage {kept.id} of {kept.service} recorded")


@app.command("list")
def list_(month: Month) -> None:
    """Outages sharing time with a month."""
    from activities.outage_tables import outages
    from starter.cli_report import _engine
    from starter.credits_service import month_bounds

    start, end = month_bounds(_month(month))
    for o in outages(_engine(), start, end):
        kind = "planned" if o.planned else "unplanned"
        typer.echo(f"{o.id}  {o.service}  {o.start.isoformat()} to {o.end.isoformat()}  {kind}")


def availability(
    month: Month,
    agreement: Annotated[str, typer.Option(help="The agreement's id.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Availability per service over a month against the agreement's target."""
    from activities.agreement_store import NoAgreementError
    from starter.availability_service import availability_report
    from starter.cli_report import _engine

    try:
        report = availability_report(_engine(), agreement, _month(month))
    except NoAgreementError as error:
        _fail(f"--agreement: {error}")
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    typer.echo(
        f"Availability under agreement {report.agreement_id} version {report.agreement_version}"
        f" for {month}: target {report.target_percent:g} %"
    )
    for s in report.services:
        verdict = "met" if s.met else "MISSED"
        typer.echo(
            f"  {s.service}: {s.availability_percent:g} % ({s.outages} outage(s), "
            f"{s.counted_seconds / 60:g} min counted, {s.excused_seconds / 60:g} min planned "
            f"excused): {verdict}"
        )


def ola(
    month: Month,
    agreement: Annotated[str, typer.Option(help="The agreement's id.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Internal targets (OLAs) per tier over a month: pages picked up in time."""
    from activities.agreement_store import NoAgreementError
    from starter.cli_report import _engine
    from starter.ola_service import ola_report

    try:
        report = ola_report(_engine(), agreement, _month(month))
    except NoAgreementError as error:
        _fail(f"--agreement: {error}")
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    typer.echo(f"Internal targets of agreement {agreement} for {month}")
    if not report.tiers:
        typer.echo("  no tier states pick_up_within")
    for t in report.tiers:
        share = "-" if t.percent is None else f"{t.percent:g} %"
        late = ", ".join(t.missed_tickets[:10]) or "-"
        typer.echo(
            f"  {t.tier.value}: picked up within {t.target_seconds / 60:g} min: "
            f"{t.in_time} of {t.paged} ({share}); missed: {late}"
        )
    for p in report.third_parties:
        target = (
            "no target" if p.target_seconds is None else f"target {p.target_seconds / 60:g} min"
        )
        over = ", ".join(p.over_target_tickets[:10]) or "-"
        typer.echo(
            f"  third party {p.party} ({target}): {p.waits} wait(s), "
            f"{p.waited_seconds / 60:g} min in all; over target: {over}"
        )
