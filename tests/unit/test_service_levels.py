"""Service-level windows and error budgets: hand-worked figures and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.agreement import ServiceLevelObjective
from slaflow.service_levels import (
    MeasuredTicket,
    ObjectiveStatus,
    Window,
    count,
    merge_tickets,
    min_volume,
    notice_key,
    notices_due,
    objective_status,
    statuses,
    window_bounds,
)
from slaflow.tiers import Priority

NOV = window_bounds("month", datetime(2026, 11, 23, 12, tzinfo=UTC))
P1_FIRST = ServiceLevelObjective(
    priority=Priority.P1, target="first_response", percent=95, window="month", warn_when_spent=75
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ----- windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "at", "start", "end"),
    [
        ("month", utc(2026, 11, 23, 12), utc(2026, 11, 1), utc(2026, 12, 1)),
        ("month", utc(2026, 12, 31, 23, 59), utc(2026, 12, 1), utc(2027, 1, 1)),
        ("month", utc(2028, 2, 29, 8), utc(2028, 2, 1), utc(2028, 3, 1)),
        ("month", utc(2026, 11, 1), utc(2026, 11, 1), utc(2026, 12, 1)),  # start is inside
        ("week", utc(2026, 11, 23, 12), utc(2026, 11, 23), utc(2026, 11, 30)),  # a Monday
        ("week", utc(2026, 11, 29, 23, 59), utc(2026, 11, 23), utc(2026, 11, 30)),  # Sunday
        ("week", utc(2026, 12, 31), utc(2026, 12, 28), utc(2027, 1, 4)),  # across the year
    ],
)
def test_window_bounds(kind: str, at: datetime, start: datetime, end: datetime) -> None:
    window = window_bounds(kind, at)  # type: ignore[arg-type]
    assert (window.start, window.end) == (start, end)


def test_windows_are_utc_whatever_the_offset_of_the_time_asked_about() -> None:
    berlin_new_year = datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert window_bounds("month", berlin_new_year).start == utc(2026, 11, 1)  # 23:30 UTC


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        window_bounds("month", datetime(2026, 11, 23))


def test_labels() -> None:
    assert NOV.label == "November 2026"
    assert window_bounds("week", utc(2026, 11, 25)).label == "week of 2026-11-23"


@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    kind=st.sampled_from(["week", "month"]),
)
def test_windows_tile_time(at: datetime, kind: str) -> None:
    window = window_bounds(kind, at)  # type: ignore[arg-type]
    assert window.start <= at < window.end
    assert window.start.time() == datetime.min.time() and window.start.tzinfo is not None
    following = window_bounds(kind, window.end)  # type: ignore[arg-type]
    assert following.start == window.end  # no gap, no overlap
    assert window_bounds(kind, window.end - timedelta(microseconds=1)) == window  # type: ignore[arg-type]
    if kind == "week":
        assert window.start.weekday() == 0 and window.end - window.start == timedelta(days=7)
    else:
        assert window.start.day == 1 and 28 <= (window.end - window.start).days <= 31


# ----- the budget, worked by hand -----------------------------------------------------------


def test_four_misses_of_a_hundred_spend_80_percent_and_warn() -> None:
    # 5 % of 100 tickets may miss: 5; 4 missed -> 4 / 5 = 80 % >= 75 %
    status = objective_status(P1_FIRST, NOV, 100, 4, utc(2026, 11, 23, 12))
    assert status.allowed_misses == 5 and status.remaining_misses == 1
    assert status.spent_percent == 80 and status.state == "warning"
    assert status.compliance_percent == 96 and not status.low_volume


def test_the_fifth_miss_exhausts_and_three_are_fine() -> None:
    assert objective_status(P1_FIRST, NOV, 100, 5, NOV.end).state == "exhausted"
    three = objective_status(P1_FIRST, NOV, 100, 3, NOV.end)
    assert (three.spent_percent, three.state) == (60, "ok")


def test_decimal_percentages_are_exact() -> None:
    # 0.1 % of 1,000 is exactly one miss (float arithmetic says 1.0000000000000009)
    objective = P1_FIRST.model_copy(update={"percent": 99.9})
    status = objective_status(objective, NOV, 1000, 1, NOV.end)
    assert status.allowed_misses == 1 and status.spent_percent == 100
    assert status.state == "exhausted"
    assert objective_status(objective, NOV, 1001, 1, NOV.end).state == "warning"


def test_few_tickets_one_miss_exhausts_and_says_low_volume() -> None:
    # 7 tickets at 95 %: 0.35 misses allowed; one miss is 285.7 % of that budget
    status = objective_status(P1_FIRST, NOV, 7, 1, utc(2026, 11, 4))
    assert status.allowed_misses == 0.35 and status.spent_percent == 285.7
    assert status.state == "exhausted" and status.low_volume
    assert status.compliance_percent == 85.71
    assert min_volume(95) == 20 and min_volume(90) == 10 and min_volume(99.9) == 1000


def test_an_empty_window_spent_nothing() -> None:
    status = objective_status(P1_FIRST, NOV, 0, 0, NOV.start)
    assert (status.state, status.spent_percent, status.compliance_percent) == ("ok", 0, None)
    assert status.projected_measured is None  # nothing elapsed, nothing to project


def test_projection_at_half_time() -> None:
    # 15 of November's 30 days gone, 40 tickets measured: 80 by the end, allowing 4 misses
    status = objective_status(P1_FIRST, NOV, 40, 1, utc(2026, 11, 16))
    assert status.elapsed_percent == 50
    assert (status.projected_measured, status.projected_allowed_misses) == (80, 4)
    assert status.allowed_misses == 2 and status.state == "ok"  # 1 of 2: 50 %


def test_misses_beyond_measured_are_refused() -> None:
    with pytest.raises(ValueError, match="misses"):
        objective_status(P1_FIRST, NOV, 3, 4, NOV.end)


@given(
    measured=st.integers(0, 5000),
    misses=st.integers(0, 5000),
    percent=st.sampled_from([50, 80, 90, 95, 97.5, 99, 99.5, 99.9]),
    warn=st.integers(1, 100),
)
def test_state_follows_the_budget(measured: int, misses: int, percent: float, warn: int) -> None:
    misses = min(misses, measured)
    objective = P1_FIRST.model_copy(update={"percent": percent, "warn_when_spent": warn})
    status = objective_status(objective, NOV, measured, misses, NOV.end)
    allowed = (1 - Fraction(str(percent)) / 100) * measured
    assert (status.state == "exhausted") == (misses > 0 and misses >= allowed)
    if misses == 0:
        assert status.state == "ok" and status.spent_percent == 0
    if measured:
        # exhausted exactly when compliance is at or below the objective (with a miss)
        met = Fraction(measured - misses, measured) * 100
        assert (status.state == "exhausted") == (misses > 0 and met <= Fraction(str(percent)))
    if misses < measured:
        worse = objective_status(objective, NOV, measured, misses + 1, NOV.end)
        assert worse.spent_percent >= status.spent_percent
        order = ["ok", "warning", "exhausted"]
        assert order.index(worse.state) >= order.index(status.state)


# ----- which tickets count ------------------------------------------------------------------


def ticket(
    tid: str,
    opened: datetime,
    first: bool | None = False,
    resolution: bool | None = False,
    priority: Priority = Priority.P1,
) -> MeasuredTicket:
    return MeasuredTicket(
        ticket_id=tid,
        priority=priority,
        opened_at=opened,
        first_response_missed=first,
        resolution_missed=resolution,
    )


def test_count_takes_the_priority_the_window_and_decided_targets_only() -> None:
    tickets = [
        ticket("a", utc(2026, 11, 2), first=True),
        ticket("b", utc(2026, 11, 3), first=False),
        ticket("c", utc(2026, 11, 4), first=None),  # still running: not measured
        ticket("d", utc(2026, 10, 31, 23, 59), first=True),  # opened in October
        ticket("e", utc(2026, 12, 1), first=True),  # opened in December
        ticket("f", utc(2026, 11, 5), first=True, priority=Priority.P2),
    ]
    assert count(P1_FIRST, NOV, tickets) == (2, 1)
    every_priority = P1_FIRST.model_copy(update={"priority": None})
    assert count(every_priority, NOV, tickets) == (3, 2)
    resolution = P1_FIRST.model_copy(update={"target": "resolution"})
    assert count(resolution, NOV, tickets) == (3, 0)  # c: resolution decided, response not


def test_a_breach_in_either_source_counts_and_met_beats_unknown() -> None:
    stored = [ticket("a", utc(2026, 11, 2), first=False, resolution=False)]
    live = [
        ticket("a", utc(2026, 11, 2), first=None, resolution=True),  # reopened, breached again
        ticket("b", utc(2026, 11, 3), first=True, resolution=None),
    ]
    merged = {t.ticket_id: t for t in merge_tickets(stored, live)}
    assert merged["a"].first_response_missed is False and merged["a"].resolution_missed is True
    assert merged["b"].first_response_missed is True and merged["b"].resolution_missed is None


outcomes = st.sampled_from([True, False, None])


@given(
    st.lists(
        st.builds(
            ticket,
            tid=st.sampled_from("abcdefgh"),
            opened=st.just(utc(2026, 11, 10)),
            first=outcomes,
            resolution=outcomes,
        ),
        max_size=20,
    ),
    st.randoms(use_true_random=False),
)
def test_merging_is_idempotent_and_order_free(tickets: list[MeasuredTicket], rnd: object) -> None:
    once = merge_tickets(tickets)
    assert merge_tickets(once, once) == once
    shuffled = list(tickets)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert merge_tickets(shuffled) == once
    assert len(once) == len({t.ticket_id for t in tickets})
    for merged in once:
        reports = [t.first_response_missed for t in tickets if t.ticket_id == merged.ticket_id]
        assert merged.first_response_missed is (
            True if True in reports else False if False in reports else None
        )


def test_statuses_of_every_objective_with_what_was_already_sent() -> None:
    week = ServiceLevelObjective(target="resolution", percent=90, window="week")
    tickets = [ticket(str(i), utc(2026, 11, 23, 1), first=i < 2) for i in range(10)]
    as_of = utc(2026, 11, 24)
    sent = {("P1-first_response-month", NOV.start): {"warning"}}
    first, second = statuses([P1_FIRST, week], tickets, as_of, sent)  # type: ignore[arg-type]
    assert (first.measured, first.misses, first.state, first.notified) == (
        10,
        2,
        "exhausted",
        ["warning"],
    )
    assert second.window.start == utc(2026, 11, 23) and second.objective == "all-resolution-week"
    assert (second.measured, second.misses, second.state) == (10, 0, "ok")


# ----- warnings -----------------------------------------------------------------------------


def _status(state: str, notified: list[str]) -> ObjectiveStatus:
    """100 P1 tickets, warning at 40 %: 0 misses ok, 2 (40 %) warning, 5 (100 %) exhausted."""
    objective = P1_FIRST.model_copy(update={"warn_when_spent": 40})
    misses = {"ok": 0, "warning": 2, "exhausted": 5}[state]
    status = objective_status(objective, NOV, 100, misses, NOV.end, notified)  # type: ignore[arg-type]
    assert status.state == state
    return status


@pytest.mark.parametrize(
    ("state", "notified", "due"),
    [
        ("ok", [], []),
        ("warning", [], ["warning"]),
        ("warning", ["warning"], []),
        ("exhausted", [], ["exhausted"]),  # straight to exhausted: the one notice that says more
        ("exhausted", ["warning"], ["exhausted"]),
        ("exhausted", ["warning", "exhausted"], []),
        ("warning", ["exhausted"], []),  # fell back after exhaustion: no late warning
        ("ok", ["warning"], []),
    ],
)
def test_notices_due(state: str, notified: list[str], due: list[str]) -> None:
    assert notices_due(_status(state, notified)) == due


def test_notice_key_names_objective_window_threshold_and_medium() -> None:
    window = Window(kind="month", start=utc(2026, 11, 1), end=utc(2026, 12, 1))
    assert (
        notice_key("P1-first_response-month", window, "warning", "email")
        == "service-levels/P1-first_response-month/2026-11-01/warning/email"
    )
