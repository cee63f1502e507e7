"""Reports read from the database on SQLite and PostgreSQL answer what the pure functions
answer on the same rows (the seeded set of tests/unit/report_seed.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from activities.facts import upsert_facts
from slaflow import reports
from slaflow.reports import GroupBy
from slaflow.tickets import TicketStatus
from starter import reports_service
from starter.reports_service import ReportError
from tests.activities import test_store
from tests.unit.report_seed import (
    END,
    START,
    as_facts,
    seeded_agreement,
    seeded_rows,
    store_seeded,
)

store_engine = test_store.store_engine  # the fixture: SQLite, and PostgreSQL when configured
OBJECTIVES = reports.objectives_of(seeded_agreement(), version=1)  # the only version
SPAN = reports_service.Period(START, END)


def test_rows_come_back_as_they_were_written(store_engine: Engine) -> None:
    store_seeded(store_engine)
    loaded = reports_service.load_rows(
        store_engine,
        START - timedelta(days=30),
        END + timedelta(days=1),
        columns=(*reports_service.CORE, *reports_service.ESCALATION, *reports_service.PAUSES),
        tier_acks=True,
    )
    pinned = [r.model_copy(update={"agreement_version": 1}) for r in seeded_rows()]
    assert sorted(loaded, key=lambda r: r.ticket_id) == pinned
    assert all(r.opened_at.tzinfo is not None for r in loaded)
    paused = reports_service.load_rows(
        store_engine, START, END, columns=("ticket_id",), paused_only=True
    )
    assert sorted(r.ticket_id for r in paused) == ["T3", "T4", "T5"]


@pytest.mark.parametrize("group_by", list(GroupBy))
def test_sla_from_the_database_equals_the_pure_figures(
    store_engine: Engine, group_by: GroupBy
) -> None:
    store_seeded(store_engine)
    answer = reports_service.sla(store_engine, SPAN, group_by)
    expected = reports.sla_report(
        seeded_rows(), start=START, end=END, group_by=group_by, objectives=OBJECTIVES
    )
    assert answer == expected
    assert answer.agreement_version == 1 and answer.totals.opened == 6


def test_trends_deviations_escalations_and_pauses(store_engine: Engine) -> None:
    store_seeded(store_engine)
    rows = seeded_rows()
    kwargs: dict[str, Any] = {"start": START, "end": END}
    assert reports_service.trends(store_engine, SPAN, None) == reports.trends(
        rows, group_by=None, objectives=OBJECTIVES, **kwargs
    )
    assert reports_service.deviations(
        store_engine, SPAN, GroupBy.PRIORITY, 0.1
    ) == reports.deviations(
        rows, group_by=GroupBy.PRIORITY, objectives=OBJECTIVES, drop_threshold=0.1, **kwargs
    )
    assert reports_service.escalations(store_engine, SPAN, 10) == reports.escalation_analysis(
        rows, **kwargs
    )
    audit = reports_service.pauses(store_engine, SPAN, timedelta(minutes=10), 0.5)
    assert audit == reports.pause_audit(rows, quick_repause_seconds=600, **kwargs)
    assert [t.ticket_id for t in audit.flagged] == ["T3", "T4"] and audit.tickets == 6


def test_period_defaults_and_refusals() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    span = reports_service.period(None, None, days=30, now=now)
    assert (span.start, span.end) == (now - timedelta(days=30), now)
    naive = reports_service.period(datetime(2026, 11, 2), datetime(2026, 11, 16), days=1)
    assert (naive.start, naive.end) == (START, END)
    with pytest.raises(ReportError, match=r"^to: .* is not after from") as refused:
        reports_service.period(END, START, days=1)
    assert refused.value.parameter == "to"
    with pytest.raises(ReportError, match="group_by"):
        reports_service.trends(None, SPAN, GroupBy.WEEK)  # type: ignore[arg-type]


def test_an_open_breach_in_the_database_counts_only_where_the_report_says(
    store_engine: Engine,
) -> None:
    """T9 is open, its first response breached and it was paused: the Zendesk convention
    counts it; the default, the escalation analysis and the pause audit do not."""
    store_seeded(store_engine)
    open_breach = seeded_rows()[0].model_copy(
        update={
            "ticket_id": "T9",
            "status": TicketStatus.WAITING_ON_CUSTOMER,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
            "first_response_breached": True,
            "resolution_breached": False,
            "reopen_count": 0,
            "pauses": 1,
            "paused_seconds": 60.0,
        }
    )
    upsert_facts(store_engine, as_facts(open_breach))
    default = reports_service.sla(store_engine, SPAN, GroupBy.PRIORITY).totals
    zendesk = reports_service.sla(
        store_engine, SPAN, GroupBy.PRIORITY, reports.Counting.COMPLETED_OR_BREACHED
    ).totals
    assert (default.opened, zendesk.opened) == (6, 7)
    assert (default.first_response_breaches, zendesk.first_response_breaches) == (2, 3)
    assert (zendesk.first_response_met, zendesk.first_response_measured) == (4, 7)
    assert reports_service.escalations(store_engine, SPAN, 10).tickets == 6
    assert reports_service.pauses(store_engine, SPAN, timedelta(minutes=10), 0.5).tickets == 6
