"""Credit statements from ticket facts: one customer's month, per agreement, ticket by ticket.

Each agreement's rules are those of its version in force at the month's end (the terms the
month is settled under). A customer without an agreement of its own is covered by the default
agreement: its tickets there are those recorded with its name.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine, exists, select
from sqlmodel import Session, col

from activities import agreement_store
from activities.tables import TicketFactRow
from slaflow.credits import CreditStatement, CreditTicket, statement
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.service_levels import window_bounds
from slaflow.tiers import Priority
from starter.report_formats import safe_cell

MONTH_PATTERN = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$"
"""A month as YYYY-MM, 1900-2199: what a settlement is drawn up for."""


class CreditsError(LookupError):
    """A request that names nothing to settle; the message names the field."""


class CreditReport(BaseModel):
    customer: str
    month: str
    statements: list[CreditStatement]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM month in UTC (the pattern is checked by the caller)."""
    year, number = (int(part) for part in month.split("-"))
    window = window_bounds("month", datetime(year, number, 1, tzinfo=UTC))
    return window.start, window.end


def _tickets(
    engine: Engine, agreement_id: str, start: datetime, end: datetime, customer: str | None
) -> list[CreditTicket]:
    query = select(
        col(TicketFactRow.ticket_id),
        col(TicketFactRow.priority),
        col(TicketFactRow.opened_at),
        col(TicketFactRow.first_response_breached),
        col(TicketFactRow.resolution_breached),
    ).where(
        col(TicketFactRow.agreement_id) == agreement_id,
        col(TicketFactRow.opened_at) >= start,
        col(TicketFactRow.opened_at) < end,
        col(TicketFactRow.measured),
    )
    if customer is not None:
        query = query.where(col(TicketFactRow.customer) == customer)
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        CreditTicket(
            ticket_id=ticket_id,
            priority=Priority(priority),
            opened_at=opened_at,
            first_response_breached=fr,
            resolution_breached=res,
        )
        for ticket_id, priority, opened_at, fr, res in rows
    ]


def _known(engine: Engine, customer: str) -> bool:
    if agreement_store.customer(engine, customer) is not None:
        return True
    with Session(engine) as session:
        query = select(exists().where(col(TicketFactRow.customer) == customer))
        return bool(session.execute(query).scalar())


def credit_report(engine: Engine, customer: str, month: str) -> CreditReport:
    """What `customer`'s agreements owe for `month` (YYYY-MM)."""
    if not _known(engine, customer):
        raise CreditsError(f"query.customer: no customer or ticket named {customer!r}")
    start, end = month_bounds(month)
    own = [a.id for a in agreement_store.agreements(engine, customer)]
    statements = []
    for agreement_id in own or [DEFAULT_AGREEMENT_ID]:
        try:
            row = agreement_store.version_in_force(
                engine, end - timedelta(microseconds=1), agreement_id
            )
        except agreement_store.NoAgreementError:
            continue  # not yet in force that month: nothing was promised
        by_name = None if own else customer
        statements.append(
            statement(
                agreement_store.agreement_of(row),
                agreement_id=agreement_id,
                agreement_version=row.number,
                customer=customer,
                period_start=start,
                period_end=end,
                tickets=_tickets(engine, agreement_id, start, end, by_name),
            )
        )
    return CreditReport(customer=customer, month=month, statements=statements)


CSV_HEADER = [
    "row",
    "agreement_id",
    "agreement_version",
    "ticket_id",
    "priority",
    "opened_at",
    "target",
    "rule",
    "percent",
    "cap_percent",
    "owed_percent",
    "owed_amount",
    "currency",
]


def csv_rows(report: CreditReport) -> list[list[object]]:
    """Per statement: a `miss` row per ticket and rule, a `rule` row per rule (earned, cap,
    owed), and an `owed` row with the month's total."""
    rows: list[list[object]] = []
    for s in report.statements:
        head = [s.agreement_id, s.agreement_version]
        for line in s.lines:
            rows.append(
                ["miss", *head, line.ticket_id, line.priority, line.opened_at, line.target,
                 line.rule, line.credit_percent, None, None, None, s.currency]
            )  # fmt: skip
        for total in s.rules:
            rows.append(
                ["rule", *head, None, None, None, None, total.rule, total.earned_percent,
                 total.cap_percent, total.owed_percent, None, s.currency]
            )  # fmt: skip
        rows.append(
            ["owed", *head, None, None, None, None, None, None, None, s.owed_percent,
             s.owed_amount, s.currency]
        )  # fmt: skip
    return rows


def to_csv(report: CreditReport) -> str:
    """The rows as CSV, text that a spreadsheet would run as a formula made harmless."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([safe_cell(v) for v in row] for row in csv_rows(report))
    return out.getvalue()
