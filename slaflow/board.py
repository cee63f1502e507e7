"""The managers' live board: who comes first and where each open ticket sits. Pure, no I/O.

The board is built from Temporal visibility (which tickets are open, their tier, priority and
status) and each ticket's live query (its clocks), never from a stored copy. This module only
orders and groups what those two said, so the API, the dashboard and the tests agree on it.

**Order.** Breached tickets first, then the rest; within each, least time left first (a late
ticket's time left is negative, so the most overdue leads); tickets whose clocks are unknown
(their query did not answer) or all met come last; ties by opening time, then id.

**Time left** of a ticket: the least `remaining_seconds` among its clocks that are not met
(a paused clock still has time left; it just does not shrink while paused).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from slaflow.tickets import TargetKind, TicketStatus, TicketView
from slaflow.tiers import TIER_ORDER, Priority, Tier

BOARD_STATUSES: tuple[TicketStatus, ...] = (
    TicketStatus.OPEN,
    TicketStatus.ACKNOWLEDGED,
    TicketStatus.WAITING_ON_CUSTOMER,
    TicketStatus.WAITING_ON_THIRD_PARTY,
)
"""Statuses of tickets still owed work; a resolved ticket waiting out its reopen window is not."""

OPEN_CLOCK_STATUSES = ("running", "paused", "breached")


class BoardClock(BaseModel):
    """One SLA clock of a ticket as the board shows it."""

    kind: TargetKind
    status: str = Field(description="running, paused, met, breached or met_late")
    within_seconds: float
    deadline: datetime | None = Field(description="UTC; None while paused or met.")
    remaining_seconds: float | None = Field(description="Business time left; negative: late.")


class BoardTicket(BaseModel):
    ticket_id: str
    workflow_id: str
    customer: str | None
    subject: str | None
    priority: Priority | None
    tier: Tier | None
    status: TicketStatus | None
    breached: bool
    assignee: str | None = None
    acknowledged_by: str | None = None
    opened_at: datetime | None
    clocks: list[BoardClock] = Field(default_factory=list)
    time_left_seconds: float | None = Field(
        description="Least time left among clocks not met; None when unknown or all met."
    )
    next_deadline: datetime | None = Field(description="Earliest deadline of a running clock.")
    live: bool = Field(
        description="True when the ticket answered its query; False: visibility's word only."
    )
    problem: str | None = Field(
        None,
        description="Why the ticket did not answer its query; one that keeps saying so is "
        "broken (its workflow fails) and wants an operator.",
    )


class BoardCell(BaseModel):
    """The tickets of one priority at one tier, in board order."""

    priority: Priority
    count: int
    breached: int
    tickets: list[BoardTicket]


class BoardTier(BaseModel):
    tier: Tier
    count: int
    breached: int
    priorities: list[BoardCell] = Field(description="P1..P4, empty cells included.")


class Board(BaseModel):
    as_of: AwareDatetime
    query: str = Field(description="The Temporal visibility query behind the board.")
    open_tickets: int
    breached_tickets: int
    unanswered: int = Field(description="Tickets shown from visibility alone: no live answer.")
    truncated: bool = Field(description="True when more open tickets exist than the limit.")
    tiers: list[BoardTier] = Field(description="Up the ladder: agent first, empty tiers too.")
    tickets: list[BoardTicket] = Field(description="Every ticket on the board, in board order.")


def time_left(clocks: Iterable[BoardClock]) -> float | None:
    """Least remaining time among clocks that are not met; None if there is none."""
    left = [
        c.remaining_seconds
        for c in clocks
        if c.status in OPEN_CLOCK_STATUSES and c.remaining_seconds is not None
    ]
    return min(left) if left else None


def next_deadline(clocks: Iterable[BoardClock]) -> datetime | None:
    deadlines = [c.deadline for c in clocks if c.status in OPEN_CLOCK_STATUSES and c.deadline]
    return min(deadlines) if deadlines else None


def from_view(view: TicketView) -> BoardTicket:
    """A ticket that answered its query: its clocks are live."""
    clocks = [
        BoardClock(
            kind=t.kind,
            status=t.status,
            within_seconds=t.within_seconds,
            deadline=t.deadline,
            remaining_seconds=t.remaining_seconds,
        )
        for t in view.targets
    ]
    return BoardTicket(
        ticket_id=view.ticket_id,
        workflow_id=view.workflow_id,
        customer=view.customer,
        subject=view.subject,
        priority=view.priority,
        tier=view.tier,
        status=view.status,
        breached=view.breached,
        assignee=view.assignee,
        acknowledged_by=view.acknowledged_by,
        opened_at=view.opened_at,
        clocks=clocks,
        time_left_seconds=time_left(clocks),
        next_deadline=next_deadline(clocks),
        live=True,
    )


def from_visibility(
    *,
    ticket_id: str,
    workflow_id: str,
    customer: str | None,
    priority: Priority | None,
    tier: Tier | None,
    status: TicketStatus | None,
    breached: bool | None,
    opened_at: datetime | None,
    problem: str | None = None,
) -> BoardTicket:
    """A ticket whose query did not answer (busy worker, terms still pinning, a broken
    workflow): no clocks, and the reason."""
    return BoardTicket(
        ticket_id=ticket_id,
        workflow_id=workflow_id,
        customer=customer,
        subject=None,
        priority=priority,
        tier=tier,
        status=status,
        breached=bool(breached),
        opened_at=opened_at,
        time_left_seconds=None,
        next_deadline=None,
        live=False,
        problem=problem,
    )


def urgency(ticket: BoardTicket) -> tuple[bool, bool, float, str, str]:
    """Sort key: breached first, then least time left, unknown last; then opening, id."""
    left = ticket.time_left_seconds
    opened = ticket.opened_at.isoformat() if ticket.opened_at else "~"
    return (not ticket.breached, left is None, left or 0.0, opened, ticket.ticket_id)


def in_board_order(tickets: Iterable[BoardTicket]) -> list[BoardTicket]:
    return sorted(tickets, key=urgency)


def build_board(
    tickets: Sequence[BoardTicket], *, as_of: datetime, query: str, truncated: bool = False
) -> Board:
    """Group tickets by tier and priority (every cell present, so a grid never changes
    shape) and order each cell and the whole board by urgency. A ticket without a tier or
    priority (a run older than its search attributes) sits in the agent tier and P4 cell."""
    ordered = in_board_order(tickets)
    tiers = []
    for tier in TIER_ORDER:
        cells = []
        for priority in Priority:
            members = [
                t
                for t in ordered
                if (t.tier or Tier.AGENT) is tier and (t.priority or Priority.P4) is priority
            ]
            cells.append(
                BoardCell(
                    priority=priority,
                    count=len(members),
                    breached=sum(t.breached for t in members),
                    tickets=members,
                )
            )
        tiers.append(
            BoardTier(
                tier=tier,
                count=sum(c.count for c in cells),
                breached=sum(c.breached for c in cells),
                priorities=cells,
            )
        )
    return Board(
        as_of=as_of,
        query=query,
        open_tickets=len(ordered),
        breached_tickets=sum(t.breached for t in ordered),
        unanswered=sum(not t.live for t in ordered),
        truncated=truncated,
        tiers=tiers,
        tickets=ordered,
    )
