"""A service-level window evaluated once more when it ends: the closing figure and verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slaflow.agreement import ServiceLevelObjective
from slaflow.service_levels import (
    MeasuredTicket,
    closing_statuses,
    notices_due,
    previous_window,
)
from slaflow.tiers import Priority

P1_WEEK = ServiceLevelObjective(
    priority=Priority.P1, target="first_response", percent=90, window="week", warn_when_spent=75
)


def utc(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def ticket(n: int, opened: datetime, missed: bool | None) -> MeasuredTicket:
    return MeasuredTicket(
        ticket_id=f"T-{n}", priority=Priority.P1, opened_at=opened, first_response_missed=missed
    )


def test_previous_window_is_the_one_just_ended() -> None:
    week = previous_window("week", utc(11, 25, 9))  # a Wednesday
    assert (week.start, week.end) == (utc(11, 16), utc(11, 23))
    month = previous_window("month", utc(1, 1))  # the first instant of January
    assert (month.start, month.end) == (datetime(2025, 12, 1, tzinfo=UTC), utc(1, 1))


def test_a_week_with_two_misses_of_ten_closes_missed_and_warns_once() -> None:
    # week of 16 November: ten P1 tickets, 2 missed: 80 % < 90 % (1 miss allowed)
    tickets = [ticket(i, utc(11, 16) + timedelta(hours=i), i < 2) for i in range(10)]
    tickets.append(ticket(99, utc(11, 23, 1), True))  # the next week: not counted
    tickets.append(ticket(98, utc(11, 22, 23), None))  # still running at the close: not measured
    (closing,) = closing_statuses([P1_WEEK], tickets, utc(11, 23, 0))
    assert closing.final and closing.met is False
    assert (closing.measured, closing.misses, closing.compliance_percent) == (10, 2, 80.0)
    assert closing.window.start == utc(11, 16) and closing.elapsed_percent == 100.0
    assert notices_due(closing) == ["missed"]
    (again,) = closing_statuses([P1_WEEK], tickets, utc(11, 24), {(P1_WEEK.name, utc(11, 16)): {
        "missed"}})  # fmt: skip
    assert notices_due(again) == []


def test_a_week_within_its_allowance_closes_met_without_a_notice() -> None:
    tickets = [ticket(i, utc(11, 16) + timedelta(hours=i), i == 0) for i in range(10)]
    (closing,) = closing_statuses([P1_WEEK], tickets, utc(11, 23, 0))
    assert closing.met is True and notices_due(closing) == []
    # an empty window met its objective: nothing was missed
    (empty,) = closing_statuses([P1_WEEK], [], utc(11, 23, 0))
    assert empty.met is True and empty.measured == 0


def test_an_earlier_exhausted_notice_does_not_stop_the_closing_one() -> None:
    tickets = [ticket(i, utc(11, 16) + timedelta(hours=i), i < 2) for i in range(10)]
    sent = {(P1_WEEK.name, utc(11, 16)): {"warning", "exhausted"}}
    (closing,) = closing_statuses([P1_WEEK], tickets, utc(11, 23, 5), sent)  # type: ignore[arg-type]
    assert notices_due(closing) == ["missed"]
