"""The live board's order and grouping, by hand-worked cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slaflow.board import BoardClock, BoardTicket, build_board, in_board_order, time_left
from slaflow.tickets import TargetKind, TicketStatus
from slaflow.tiers import TIER_ORDER, Priority, Tier

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def clock(kind: str, status: str, remaining: float | None) -> BoardClock:
    return BoardClock(
        kind=TargetKind(kind),
        status=status,
        within_seconds=600,
        deadline=T0 + timedelta(seconds=remaining) if remaining is not None else None,
        remaining_seconds=remaining,
    )


def ticket(
    ticket_id: str,
    *,
    breached: bool = False,
    left: float | None = None,
    tier: Tier = Tier.AGENT,
    priority: Priority = Priority.P1,
    opened: int = 0,
    live: bool = True,
) -> BoardTicket:
    return BoardTicket(
        ticket_id=ticket_id,
        workflow_id=f"ticket-{ticket_id}",
        customer="ACME",
        subject="s",
        priority=priority,
        tier=tier,
        status=TicketStatus.OPEN,
        breached=breached,
        opened_at=T0 + timedelta(minutes=opened),
        time_left_seconds=left,
        next_deadline=None,
        live=live,
    )


def test_time_left_is_the_least_of_the_clocks_not_met() -> None:
    clocks = [
        clock("first_response", "met", None),
        clock("resolution", "running", 3000.0),
    ]
    assert time_left(clocks) == 3000.0
    assert time_left([clock("first_response", "breached", -60.0), *clocks]) == -60.0
    assert time_left([clock("resolution", "paused", 90.0)]) == 90.0
    assert time_left([clock("first_response", "met_late", None)]) is None
    assert time_left([]) is None


def test_breached_first_most_overdue_leading_then_least_time_left_unknown_last() -> None:
    tickets = [
        ticket("calm", left=5000),
        ticket("unknown", live=False),
        ticket("late-a-bit", breached=True, left=-10),
        ticket("urgent", left=30),
        ticket("very-late", breached=True, left=-900),
        ticket("same-left-older", left=5000, opened=-5),
    ]
    assert [t.ticket_id for t in in_board_order(tickets)] == [
        "very-late",
        "late-a-bit",
        "urgent",
        "same-left-older",
        "calm",
        "unknown",
    ]


def test_cells_hold_their_tickets_in_board_order_and_every_cell_is_there() -> None:
    tickets = [
        ticket("a", tier=Tier.SPECIALIST, priority=Priority.P2, left=100),
        ticket("b", tier=Tier.SPECIALIST, priority=Priority.P2, breached=True, left=-1),
        ticket("c", tier=Tier.MANAGEMENT, priority=Priority.P1, left=7),
    ]
    board = build_board(tickets, as_of=T0, query="q")
    assert [t.tier for t in board.tiers] == list(TIER_ORDER)
    specialist = board.tiers[TIER_ORDER.index(Tier.SPECIALIST)]
    assert (specialist.count, specialist.breached) == (2, 1)
    p2 = specialist.priorities[1]
    assert p2.priority is Priority.P2
    assert [t.ticket_id for t in p2.tickets] == ["b", "a"]
    assert [t.ticket_id for t in board.tickets] == ["b", "c", "a"]
    assert (board.open_tickets, board.breached_tickets, board.unanswered) == (3, 1, 0)


tickets_strategy = st.lists(
    st.builds(
        lambda i, breached, left, tier, priority, opened: ticket(
            f"T{i}", breached=breached, left=left, tier=tier, priority=priority, opened=opened
        ),
        st.integers(0, 10_000),
        st.booleans(),
        st.none() | st.floats(-1e6, 1e6, allow_nan=False),
        st.sampled_from(TIER_ORDER),
        st.sampled_from(list(Priority)),
        st.integers(-1000, 1000),
    ),
    max_size=40,
    unique_by=lambda t: t.ticket_id,
)


@given(tickets_strategy)
def test_order_is_a_permutation_with_breached_first_and_time_left_rising(
    tickets: list[BoardTicket],
) -> None:
    ordered = in_board_order(tickets)
    assert sorted(t.ticket_id for t in ordered) == sorted(t.ticket_id for t in tickets)
    flags = [t.breached for t in ordered]
    assert flags == sorted(flags, reverse=True)
    for breached in (True, False):
        part = [t for t in ordered if t.breached is breached]
        known = [t.time_left_seconds for t in part if t.time_left_seconds is not None]
        assert known == sorted(known)
        unknown_from = next((i for i, t in enumerate(part) if t.time_left_seconds is None), None)
        if unknown_from is not None:
            assert all(t.time_left_seconds is None for t in part[unknown_from:])


@given(tickets_strategy)
def test_grouping_puts_each_ticket_in_exactly_its_cell(tickets: list[BoardTicket]) -> None:
    board = build_board(tickets, as_of=T0, query="q")
    placed = [
        (tier.tier, cell.priority, t.ticket_id)
        for tier in board.tiers
        for cell in tier.priorities
        for t in cell.tickets
    ]
    assert sorted(placed) == sorted((t.tier, t.priority, t.ticket_id) for t in tickets)
    assert board.open_tickets == sum(tier.count for tier in board.tiers) == len(tickets)
    for tier in board.tiers:
        for cell in tier.priorities:
            assert cell.tickets == in_board_order(cell.tickets)
            assert cell.breached == sum(t.breached for t in cell.tickets)
