"""What a closed ticket's ladder would have done under other terms, replayed through the same
pure ticket machine the workflows run: for the impact report of an amendment.

Ticket facts keep when a ticket was opened, first acknowledged, first answered and resolved.
The replay applies those at their times and runs the clock in between; since only the first
acknowledgement is known, every later page is assumed acknowledged as fast as the first was
(never, if the ticket was never acknowledged).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from slaflow import ticket_machine as machine
from slaflow.tickets import (
    Acknowledge,
    Command,
    EventKind,
    PinnedTerms,
    Resolve,
    Respond,
    TicketInput,
    TicketRuntime,
    TicketStatus,
)
from slaflow.tiers import Channel, Priority, Tier

ACTOR = "what-if"


def escalations_under(
    terms: PinnedTerms,
    *,
    ticket_id: str,
    priority: Priority,
    channel: Channel,
    opened_at: datetime,
    acknowledged_at: datetime | None,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
) -> Counter[Tier]:
    """How often each tier would have been escalated to under `terms`."""
    ticket = TicketInput(
        ticket_id=ticket_id,
        customer="what-if",
        subject="what-if",
        priority=priority,
        channel=channel,
        requester_email="what-if@slaflow.invalid",
        opened_at=opened_at,
    )
    rt, _ = machine.open_ticket(ticket, terms, opened_at, opened_at)
    ack_delay = acknowledged_at - opened_at if acknowledged_at else None
    steps: list[tuple[datetime, str, Command]] = []
    if first_response_at:
        steps.append((first_response_at, "respond", Respond(actor=ACTOR)))
    if resolved_at:
        steps.append((resolved_at, "resolve", Resolve(actor=ACTOR)))
    now = opened_at
    for at, name, command in sorted(steps, key=lambda s: s[0]):
        now = _advance(rt, now, at, ack_delay)
        if machine.refusal(rt, name, command) is None:
            machine.apply_command(rt, name, command, at)
    return Counter(e.tier for e in rt.events if e.kind is EventKind.ESCALATED and e.tier)


def _advance(rt: TicketRuntime, now: datetime, until: datetime, ack: timedelta | None) -> datetime:
    """Run the clock to `until`, acknowledging each page `ack` after it went out."""
    while rt.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        due = machine.next_due(rt, now)
        ack_at = rt.page.paged_at + ack if ack is not None and not rt.page.acknowledged_at else None
        moments = [t for t in (due.at if due else None, ack_at) if t is not None]
        if not moments or min(moments) > until:
            break
        at = max(min(moments), now)
        if ack_at is not None and ack_at <= at:
            machine.apply_command(rt, "acknowledge", Acknowledge(actor=ACTOR), at)
        elif due is not None:
            machine.apply_due(rt, due, at)
        now = at
    return max(now, until)
