"""Business-time MTTA and MTTR beside the wall-clock ones: nights and pauses do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slaflow import reports
from slaflow import ticket_machine as machine
from slaflow.reports import FactRow, GroupBy, Objectives
from slaflow.tickets import Acknowledge, Pause, Resolve, Respond, Resume
from tests.factories import make_agreement, make_terms, make_ticket
from tests.unit.test_breach_deadline import office_agreement

H = timedelta(hours=1)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)  # 2 March 2026 is a Monday


def test_a_ticket_over_night_with_a_pause() -> None:
    terms = make_terms(make_agreement(**office_agreement()))  # P3 counts 08-17 on weekdays
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), terms, at(2, 16), at(2, 16))
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), at(3, 9))
    machine.apply_command(rt, "respond", Respond(actor="a"), at(3, 9))
    machine.apply_command(rt, "pause", Pause(actor="a"), at(3, 10))
    machine.apply_command(rt, "resume", Resume(actor="customer"), at(3, 11))
    machine.apply_command(rt, "resolve", Resolve(actor="a"), at(3, 12))
    facts = machine.facts(rt)
    # Monday 16-17 and Tuesday 08-09: two business hours to the acknowledgement (17 wall-clock)
    assert facts.acknowledged_seconds == 2 * 3600
    # Monday 16-17, Tuesday 08-12 less the 10-11 pause: four business hours (20 wall-clock)
    assert facts.resolution_seconds == 4 * 3600
    row = FactRow.model_validate(facts.model_dump())
    totals = reports.sla_report(
        [row],
        start=at(2, 0),
        end=at(9, 0),
        group_by=GroupBy.PRIORITY,
        objectives=Objectives(),
    ).totals
    assert (totals.mtta_mean_seconds, totals.mtta_business_mean_seconds) == (17 * 3600, 7200)
    assert (totals.mttr_mean_seconds, totals.mttr_business_mean_seconds) == (20 * 3600, 14400)


seconds = st.integers(0, 10**6)


@given(st.lists(st.tuples(seconds, seconds, st.booleans()), max_size=20))
def test_business_figures_count_only_the_tickets_that_have_them(
    values: list[tuple[int, int, bool]],
) -> None:
    """A row without business seconds (written before them) is left out of those figures
    only; with every row having them, business time never exceeds the wall clock."""
    start = at(2, 0)
    rows = [
        FactRow(
            ticket_id=f"T{i}",
            customer="ACME",
            priority="P1",
            channel="email",
            status="closed",
            opened_at=start,
            acknowledged_at=start + timedelta(seconds=wall),
            resolved_at=start + timedelta(seconds=wall),
            acknowledged_seconds=min(business, wall) if known else None,
            resolution_seconds=min(business, wall) if known else None,
        )
        for i, (wall, business, known) in enumerate(values)
    ]
    figures = reports.figures("all", rows, Objectives())
    known = [min(b, w) for w, b, k in values if k]
    expected = sum(known) / len(known) if known else None
    assert figures.mtta_business_mean_seconds == expected
    assert figures.mttr_business_mean_seconds == expected
    if all(k for _, _, k in values) and values:
        assert figures.mtta_business_mean_seconds <= figures.mtta_mean_seconds  # type: ignore[operator]
