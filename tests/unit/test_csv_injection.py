"""Report CSVs neutralise cells a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.reports import FactRow, GroupBy, Objectives, sla_report
from slaflow.tickets import TicketStatus
from slaflow.tiers import Channel, Priority
from starter.report_formats import FORMULA_STARTS, read_csv, safe_cell, to_csv

START = datetime(2026, 11, 2, tzinfo=UTC)


def _row(customer: str) -> FactRow:
    return FactRow(
        ticket_id="T1",
        customer=customer,
        priority=Priority.P1,
        channel=Channel.EMAIL,
        status=TicketStatus.RESOLVED,
        opened_at=START + timedelta(hours=1),
        resolved_at=START + timedelta(hours=2),
    )


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_customer_starting_a_formula_comes_back_as_text(start: str) -> None:
    customer = f'{start}HYPERLINK("http://evil","x")'
    report = sla_report(
        [_row(customer)],
        start=START,
        end=START + timedelta(days=1),
        group_by=GroupBy.CUSTOMER,
        objectives=Objectives(),
    )
    _, rows = read_csv(to_csv(report))
    names = [r["group_name"] for r in rows]
    assert "'" + customer in names
    assert customer not in names
    assert not any(r["group"].startswith(FORMULA_STARTS) for r in rows)


def test_numbers_stay_numbers() -> None:
    assert safe_cell(-3.5) == "-3.5"
    assert safe_cell(-2) == "-2"
    assert safe_cell("ACME") == "ACME"


@given(st.text())
def test_no_cell_starts_a_formula(text: str) -> None:
    assert not safe_cell(text).startswith(FORMULA_STARTS)
