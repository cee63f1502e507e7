"""Reports read from `ticket_facts`: load the period's rows, then the pure `slaflow.reports`.

A period is ``[from, to)`` by ``opened_at`` (UTC). One indexed range query per report
(`ticket_facts.opened_at` has an index), selecting only the columns `FactRow` holds; rows are
built without re-validation because they come from our own typed columns. The API and the CLI
both call these functions, so they answer the same figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from sqlalchemy import Engine, Select, String, Table, func, or_, select, type_coerce

from activities import agreement_store
from activities.tables import TicketFactRow, tier_ack_column
from slaflow import reports
from slaflow.customers import DEFAULT_AGREEMENT_ID, SLUG_PATTERN
from slaflow.report_terms import Terms, version_key
from slaflow.reports import Counting, FactRow, GroupBy, Objectives
from slaflow.tickets import TicketStatus
from slaflow.tiers import TIER_ORDER, Channel, Priority, Tier

TABLE: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
CORE = (
    "ticket_id",
    "customer",
    "agreement_id",
    "agreement_version",
    "priority",
    "channel",
    "status",
    "opened_at",
    "acknowledged_at",
    "first_response_at",
    "resolved_at",
    "first_response_breached",
    "resolution_breached",
    "highest_tier",
    "escalations",
    "reopen_count",
    "acknowledged_seconds",
    "resolution_seconds",
)
"""What the SLA figures, trends and deviations read."""
ESCALATION = ("resolved_tier",)
PAUSES = ("closed_at", "paused_seconds", "pauses", "repause_gaps_seconds")
_TIMES = {"opened_at", "acknowledged_at", "first_response_at", "resolved_at", "closed_at"}
_ENUMS: dict[str, Any] = {  # value -> member look-ups: a dict is faster than calling the enum
    name: {member.value: member for member in kind}.__getitem__
    for name, kind in (
        ("priority", Priority),
        ("channel", Channel),
        ("status", TicketStatus),
        ("highest_tier", Tier),
        ("resolved_tier", Tier),
    )
}
_ACKS = {tier: tier_ack_column(tier.value) for tier in TIER_ORDER}


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
LONGEST = timedelta(days=3660)
"""A period lies within [EARLIEST, LATEST) and spans at most ten years (so its previous period
and its weeks stay countable)."""


class ReportError(ValueError):
    """A bad report parameter; `parameter` is its name as the API and CLI spell it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = f"{parameter}: {message}"


class Scope(BaseModel):
    """Whose tickets a report covers: one customer's, one agreement's, or (unset) everyone's.
    Tickets out of an agreement's scope are never in a report: they count in no figure."""

    model_config = ConfigDict(frozen=True)

    customer: str | None = Field(
        None, max_length=200, description="Only this customer's tickets; empty: everyone's."
    )
    agreement: str | None = Field(
        None,
        pattern=f"^$|{SLUG_PATTERN}",
        description="Only tickets under this agreement (its id); empty: every agreement.",
    )

    @field_validator("customer", "agreement", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A form's empty field means no filter."""
        return None if value == "" else value


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    scope: Scope = field(default_factory=Scope)


MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:\d{2})?)?$"
"""What `from` and `to` accept: an ISO 8601 date, or a date and time with an optional offset."""


def parse_moment(parameter: str, text: str | None) -> datetime | None:
    """`text` (see MOMENT_PATTERN) as a datetime; a number is not taken as Unix seconds."""
    if text is None:
        return None
    if re.fullmatch(MOMENT_PATTERN, text) is None:
        raise ReportError(parameter, f"{text!r} is not an ISO 8601 date or date-time")
    try:
        return TypeAdapter(datetime).validate_python(text)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise ReportError(parameter, f"{text!r} is not a valid date or time ({reason})") from exc


def _aware(value: datetime) -> datetime:
    """A naive time is taken as UTC (a date alone means its midnight UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def period(
    start: datetime | None,
    end: datetime | None,
    *,
    days: int,
    now: datetime | None = None,
    scope: Scope | None = None,
) -> Period:
    """[start, end) in UTC; `end` defaults to now, `start` to `days` before `end`."""
    finish = _aware(end) if end is not None else (now or datetime.now(UTC))
    for name, value in (("from", start), ("to", finish)):
        if value is not None and not EARLIEST <= _aware(value) < LATEST:
            raise ReportError(
                name, f"{_aware(value).isoformat()} is outside {EARLIEST.year} to {LATEST.year - 1}"
            )
    begin = _aware(start) if start is not None else finish - timedelta(days=days)
    if finish <= begin:
        raise ReportError("to", f"{finish.isoformat()} is not after from ({begin.isoformat()})")
    if finish - begin > LONGEST:
        raise ReportError("from", f"a period spans at most {LONGEST.days} days")
    return Period(begin, finish, scope or Scope())


def _sqlite_moment(value: str) -> datetime:
    """SQLite's stored text (UTC, no offset) as an aware datetime: five times faster than
    parsing it and then replacing tzinfo, which shows at 100,000 rows x 4 timestamps."""
    return datetime.fromisoformat(value + "+00:00")


def _column(name: str) -> Any:
    """Timestamps unprocessed (the driver's value is converted in `load_rows`, much faster
    than the column type's Python-level hooks); the rest as typed."""
    column = TABLE.c[name]
    return type_coerce(column, String).label(name) if name in _TIMES else column


def load_rows(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    columns: tuple[str, ...] = CORE,
    tier_acks: bool = False,
    paused_only: bool = False,
    scope: Scope | None = None,
) -> list[FactRow]:
    """Facts of the measured tickets opened in [start, end) within `scope`: only `columns`
    (other fields keep their defaults), the per-tier acknowledgement times if asked, only
    paused tickets if asked."""
    names = [*columns, *(_ACKS.values() if tier_acks else ())]
    query = _scoped(
        select(*(_column(name) for name in names)).where(
            TABLE.c.opened_at >= start, TABLE.c.opened_at < end
        ),
        scope or Scope(),
        engine,
    )
    if paused_only:
        query = query.where(TABLE.c.pauses > 0)
    with engine.connect() as connection:
        result = connection.execute(query).all()
    # PostgreSQL's driver answers timestamptz as aware datetimes already; SQLite answers text.
    moment = _sqlite_moment if engine.dialect.name == "sqlite" else None
    converters = [moment if name in _TIMES else _ENUMS.get(name) for name in columns]
    converted = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    acks = list(enumerate(_ACKS.items(), start=len(columns))) if tier_acks else []
    rows = []
    for found in result:
        cells = list(found)
        for i, convert in converted:
            if cells[i] is not None:
                cells[i] = convert(cells[i])
        values = dict(zip(columns, cells, strict=False))  # the per-tier acks come after
        if acks:
            values["tier_ack_seconds"] = {
                tier: found[i] for i, (tier, _) in acks if found[i] is not None
            }
        rows.append(FactRow.trusted(values))
    return rows


def spellings_of(engine: Engine, customer: str) -> list[str]:
    """Every spelling in `ticket_facts` of the customer `customer` names (by id or name, case
    and spacing aside; see `Terms.customer_key`): one scan of the indexed column's values."""
    terms = Terms(customers={c.id: c.name for c in agreement_store.customers(engine)})
    wanted = terms.customer_key(customer)
    with engine.connect() as connection:
        found = connection.execute(select(TABLE.c.customer).distinct()).scalars().all()
    return [s for s in found if terms.customer_key(s) == wanted] or [customer]


def _scoped(query: Select[Any], scope: Scope, engine: Engine) -> Select[Any]:
    query = query.where(TABLE.c.measured.is_(True))
    if scope.customer is not None:
        query = query.where(TABLE.c.customer.in_(spellings_of(engine, scope.customer)))
    if scope.agreement is not None:
        query = query.where(TABLE.c.agreement_id == scope.agreement)
    return query


def objectives_at(engine: Engine, at: datetime, scope: Scope | None = None) -> Objectives:
    """The objectives of the scope's agreement version in force at `at`: the agreement asked
    for, else the customer's only agreement, else the default agreement (none if no version)."""
    agreement_id = _agreement_of_scope(engine, scope or Scope())
    try:
        row = agreement_store.version_in_force(engine, at, agreement_id)
    except agreement_store.NoAgreementError:
        return Objectives()
    return reports.objectives_of(agreement_store.agreement_of(row), row.number)


def _agreement_of_scope(engine: Engine, scope: Scope) -> str:
    if scope.agreement is not None:
        return scope.agreement
    if scope.customer is not None:
        known = Terms(customers={c.id: c.name for c in agreement_store.customers(engine)})
        own = agreement_store.agreements(engine, known.customer_key(scope.customer))
        if len(own) == 1:
            return own[0].id
    return DEFAULT_AGREEMENT_ID


def _objectives(engine: Engine, span: Period) -> Objectives:
    """The version in force at the period's end (or now, for a period still running)."""
    return objectives_at(engine, min(span.end, datetime.now(UTC)), span.scope)


def terms_of(engine: Engine, rows: list[FactRow], fallback: Objectives) -> Terms:
    """The objectives of every (agreement, version) the rows pinned, one query per pair
    (a handful), and the known customers."""
    versions: dict[str, Objectives] = {}
    for agreement_id, number in {(r.agreement_id, r.agreement_version) for r in rows}:
        if number is None:
            continue
        try:
            row = agreement_store.version(engine, number, agreement_id)
        except agreement_store.NoAgreementError:
            continue  # held to the fallback, as a ticket of an unknown version
        versions[version_key(agreement_id, number)] = reports.objectives_of(
            agreement_store.agreement_of(row), number
        )
    customers = {c.id: c.name for c in agreement_store.customers(engine)}
    return Terms(fallback=fallback, versions=versions, customers=customers)


def sla(
    engine: Engine, span: Period, group_by: GroupBy, counting: Counting = Counting.RESOLVED
) -> reports.SlaReport:
    rows = load_rows(engine, span.start, span.end, scope=span.scope)
    objectives = _objectives(engine, span)
    return reports.sla_report(
        rows,
        start=span.start,
        end=span.end,
        group_by=group_by,
        objectives=objectives,
        counting=counting,
        terms=terms_of(engine, rows, objectives),
    )


def trends(
    engine: Engine,
    span: Period,
    group_by: GroupBy | None,
    counting: Counting = Counting.RESOLVED,
) -> reports.TrendsReport:
    if group_by is GroupBy.WEEK:
        raise ReportError("group_by", "trends are per week already; choose another grouping")
    first, last = reports.trends_window(span.start, span.end)
    rows = load_rows(engine, first, last, scope=span.scope)
    objectives = _objectives(engine, span)
    return reports.trends(
        rows,
        start=span.start,
        end=span.end,
        group_by=group_by,
        objectives=objectives,
        counting=counting,
        terms=terms_of(engine, rows, objectives),
    )


def deviations(
    engine: Engine,
    span: Period,
    group_by: GroupBy,
    drop_threshold: float,
    counting: Counting = Counting.RESOLVED,
) -> reports.DeviationsReport:
    previous_start, _ = reports.previous_period(span.start, span.end)
    rows = load_rows(engine, previous_start, span.end, scope=span.scope)
    objectives = _objectives(engine, span)
    return reports.deviations(
        rows,
        start=span.start,
        end=span.end,
        group_by=group_by,
        objectives=objectives,
        drop_threshold=drop_threshold,
        counting=counting,
        terms=terms_of(engine, rows, objectives),
    )


def escalations(engine: Engine, span: Period, top: int) -> reports.EscalationReport:
    rows = load_rows(
        engine,
        span.start,
        span.end,
        columns=(*CORE, *ESCALATION),
        tier_acks=True,
        scope=span.scope,
    )
    terms = Terms(customers={c.id: c.name for c in agreement_store.customers(engine)})
    return reports.escalation_analysis(rows, start=span.start, end=span.end, top=top, terms=terms)


def pauses(
    engine: Engine, span: Period, quick_repause: timedelta, max_paused_share: float
) -> reports.PauseAudit:
    """The audit needs only paused tickets' rows, but counts every ticket of the period."""
    audit = reports.pause_audit(
        load_rows(
            engine,
            span.start,
            span.end,
            columns=(*CORE, *PAUSES),
            paused_only=True,
            scope=span.scope,
        ),
        start=span.start,
        end=span.end,
        quick_repause_seconds=quick_repause.total_seconds(),
        max_paused_share=max_paused_share,
    )
    audit.tickets = count(engine, span)
    return audit


def count(engine: Engine, span: Period) -> int:
    """Measured tickets opened in the period, within its scope, that `Counting.RESOLVED`
    counts (as the audit does)."""
    done = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
    query = _scoped(
        select(func.count()).where(
            TABLE.c.opened_at >= span.start,
            TABLE.c.opened_at < span.end,
            or_(TABLE.c.status.in_(done), TABLE.c.reopen_count > 0),
        ),
        span.scope,
        engine,
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
