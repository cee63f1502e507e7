"""`slaflow report sla|trends|deviations|escalations|pauses`: the API's reports, read straight
from the database (no Temporal, no API), as a table, `--csv` or `--json`.

The figures are those of `GET /reports/...` (same service, same definitions in
`slaflow.reports`); periods are `[--from, --to)` by opened_at, dates or ISO times, UTC unless
they say otherwise. Bad options exit 1 with one line on stderr naming the option.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NamedTuple, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError

from slaflow.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from slaflow.reports import Counting, GroupBy
    from starter.report_formats import Report
    from starter.reports_service import Period

app = typer.Typer(
    help="Service-level reports of tickets opened in a period, from the database.",
    no_args_is_help=True,
)

FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start (inclusive) by opened_at, e.g. 2026-11-01; default: "
        "--to minus SLAFLOW_REPORT_DAYS.",
    ),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="End (exclusive) by opened_at; default: now.")
]
GroupOpt = Annotated[
    str,
    typer.Option("--group-by", help="priority, channel, customer, agreement, tier or week."),
]
CustomerOpt = Annotated[
    str | None, typer.Option("--customer", help="Only this customer's tickets (its id or name).")
]
AgreementOpt = Annotated[
    str | None, typer.Option("--agreement", help="Only tickets under this agreement (its id).")
]
CountingOpt = Annotated[
    str,
    typer.Option(
        "--counting",
        help="resolved (tickets resolved at least once) or completed_or_breached (also open "
        "tickets with a breached target).",
    ),
]
CsvFlag = Annotated[bool, typer.Option("--csv", help="CSV: a header, then one row per item.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="The API's JSON.")]
OPTION = {"from": "--from", "to": "--to", "group_by": "--group-by"}


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _group_by(value: str | None, *, allow_week: bool = True) -> GroupBy | None:
    from slaflow.reports import GroupBy

    if value is None:
        return None
    choices = [g.value for g in GroupBy if allow_week or g is not GroupBy.WEEK]
    if value not in choices:
        _fail(f"--group-by: {value!r} is not one of {', '.join(choices)}")
    return GroupBy(value)


def _counting(value: str) -> Counting:
    from slaflow.reports import Counting

    choices = [c.value for c in Counting]
    if value not in choices:
        _fail(f"--counting: {value!r} is not one of {', '.join(choices)}")
    return Counting(value)


def _engine() -> Engine:
    """The configured database at the code's schema (migrated if SLAFLOW_DB_AUTO_MIGRATE)."""
    from activities.db import make_engine
    from activities.schema import SchemaNotCurrent, prepare_schema

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
    except SchemaNotCurrent as exc:
        _fail(str(exc))
    except Exception as exc:  # SQLAlchemy's errors name the database and the reason
        _fail(f"database {engine.url.render_as_string(hide_password=True)}: {exc}")
    return engine


class Window(NamedTuple):
    """The period and whose tickets, as given on the command line."""

    start: str | None
    end: str | None
    customer: str | None
    agreement: str | None


def _show(
    window: Window,
    as_csv: bool,
    as_json: bool,
    compute: Callable[[Engine, Period], Report],
) -> None:
    """Resolve the period, run the report on the database, print it in the chosen form."""
    from starter import report_formats, reports_service

    if as_csv and as_json:
        _fail("--csv and --json: choose one")
    try:
        scope = reports_service.Scope(customer=window.customer, agreement=window.agreement)
    except ValidationError as exc:
        _fail("; ".join(f"--{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
    try:
        span = reports_service.period(
            reports_service.parse_moment("from", window.start),
            reports_service.parse_moment("to", window.end),
            days=get_settings().report_days,
            scope=scope,
        )
    except reports_service.ReportError as exc:
        _fail(f"{OPTION.get(exc.parameter, exc.parameter)}{exc.message[len(exc.parameter) :]}")
    engine = _engine()
    try:
        report = compute(engine, span)
    except reports_service.ReportError as exc:
        _fail(f"{OPTION.get(exc.parameter, exc.parameter)}{exc.message[len(exc.parameter) :]}")
    except Exception as exc:
        _fail(f"database {engine.url.render_as_string(hide_password=True)}: {exc}")
    finally:
        engine.dispose()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    elif as_csv:
        typer.echo(report_formats.to_csv(report), nl=False)
    else:
        typer.echo(report_formats.text(report), nl=False)


@app.command("sla")
def sla(
    start: FromOpt = None,
    end: ToOpt = None,
    customer: CustomerOpt = None,
    agreement: AgreementOpt = None,
    group_by: GroupOpt = "priority",
    counting: CountingOpt = "resolved",
    as_csv: CsvFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Per group: opened/closed, compliance against the pinned targets and the objective,
    MTTA and MTTR (mean, median, p90), breaches, escalations per tier, reopen rate."""
    from starter import reports_service

    grouping = _group_by(group_by)
    assert grouping is not None
    rule = _counting(counting)
    _show(
        Window(start, end, customer, agreement),
        as_csv,
        as_json,
        lambda e, s: reports_service.sla(e, s, grouping, rule),
    )


@app.command("trends")
def trends(
    start: FromOpt = None,
    end: ToOpt = None,
    customer: CustomerOpt = None,
    agreement: AgreementOpt = None,
    group_by: Annotated[
        str | None,
        typer.Option("--group-by", help="Split each week: priority, channel, customer or tier."),
    ] = None,
    counting: CountingOpt = "resolved",
    as_csv: CsvFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """The figures per ISO week overlapping the period, with the change against the week
    before."""
    from starter import reports_service

    grouping = _group_by(group_by, allow_week=False)
    rule = _counting(counting)
    _show(
        Window(start, end, customer, agreement),
        as_csv,
        as_json,
        lambda e, s: reports_service.trends(e, s, grouping, rule),
    )


@app.command("deviations")
def deviations(
    start: FromOpt = None,
    end: ToOpt = None,
    customer: CustomerOpt = None,
    agreement: AgreementOpt = None,
    group_by: GroupOpt = "priority",
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="A compliance drop larger than this fraction deviates; default "
            "SLAFLOW_REPORT_DEVIATION_DROP.",
        ),
    ] = None,
    counting: CountingOpt = "resolved",
    as_csv: CsvFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Groups below their compliance objective, or dropped by more than the threshold against
    the previous period of the same length, with the tickets behind each."""
    from starter import reports_service

    grouping = _group_by(group_by)
    assert grouping is not None
    rule = _counting(counting)
    drop = get_settings().report_deviation_drop if threshold is None else threshold
    if not 0 <= drop <= 1:
        _fail(f"--threshold: {drop:g} is not a fraction between 0 and 1")
    _show(
        Window(start, end, customer, agreement),
        as_csv,
        as_json,
        lambda e, s: reports_service.deviations(e, s, grouping, drop, rule),
    )


@app.command("escalations")
def escalations(
    start: FromOpt = None,
    end: ToOpt = None,
    customer: CustomerOpt = None,
    agreement: AgreementOpt = None,
    top: Annotated[
        int, typer.Option("--top", help="Most escalated customers and channels (at least 1).")
    ] = 10,
    as_csv: CsvFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Per tier: tickets reached and resolved, time to acknowledge; the most escalated
    customers and channels."""
    from starter import reports_service

    if top < 1:
        _fail(f"--top: {top} is not at least 1")
    _show(
        Window(start, end, customer, agreement),
        as_csv,
        as_json,
        lambda e, s: reports_service.escalations(e, s, top),
    )


@app.command("pauses")
def pauses(
    start: FromOpt = None,
    end: ToOpt = None,
    customer: CustomerOpt = None,
    agreement: AgreementOpt = None,
    quick_repause: Annotated[
        str | None,
        typer.Option(
            "--quick-repause",
            help="A pause this soon after a resume is flagged, e.g. 10m; default "
            "SLAFLOW_REPORT_QUICK_REPAUSE.",
        ),
    ] = None,
    paused_share: Annotated[
        float | None,
        typer.Option(
            "--paused-share",
            help="Flag tickets paused for more than this share of their life; default "
            "SLAFLOW_REPORT_PAUSED_SHARE.",
        ),
    ] = None,
    as_csv: CsvFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Tickets re-paused soon after a resume, or paused for most of their life."""
    from slaflow.durations import Duration
    from starter import reports_service

    settings = get_settings()
    quick = settings.report_quick_repause
    if quick_repause is not None:
        try:
            quick = TypeAdapter(Duration).validate_python(quick_repause)
        except (ValidationError, OverflowError):
            _fail(f"--quick-repause: {quick_repause!r} is not a duration such as 10m or 1h 30m")
        if quick < timedelta(0):
            _fail("--quick-repause: must not be negative")
    share = settings.report_paused_share if paused_share is None else paused_share
    if not 0 < share <= 1:
        _fail(f"--paused-share: {share:g} is not a fraction above 0 and at most 1")
    _show(
        Window(start, end, customer, agreement),
        as_csv,
        as_json,
        lambda e, s: reports_service.pauses(e, s, quick, share),
    )
