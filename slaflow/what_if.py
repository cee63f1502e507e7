"""What a closed ticket's ladder would have done under other terms, replayed through the same
pure ticket machine the workflows run: for the impact report of an amendment.

Ticket facts keep when a ticket was opened, first acknowledged, first answered and resolved.
The replay applies those at their times and runs the clock in between; since only the first
acknowledgement is known, every later page is assumed acknowledged as fast as the first was
(never, if the ticket was never acknowledged). Its waits on the customer or a third party
and its priority changes are replayed as the pause, resume and priority commands they were,
so each version's pause rules and objectives apply as its clocks would have applied them
(a resolution later reopened is not replayed: facts keep the last resolution only).

`clock_deadline` is the same arithmetic for one target without the ladder: the deadline a
version's clock would have had, given the waits and priority changes the ticket went through.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from slaflow import sla_clock
from slaflow import ticket_machine as machine
from slaflow.agreement import Agreement, TargetName
from slaflow.calendars import ResolvedCalendar
from slaflow.tickets import (
    Acknowledge,
    ChangePriority,
    Command,
    EventKind,
    Pause,
    PauseSpan,
    PinnedTerms,
    PriorityChange,
    Resolve,
    Respond,
    Resume,
    TargetClock,
    TargetKind,
    TicketInput,
    TicketRuntime,
    TicketStatus,
    Wait,
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
    waits: list[Wait] | None = None,
    priority_changes: list[PriorityChange] | None = None,
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
    if priority_changes:  # the ticket opened on the priority its first change left
        ticket = ticket.model_copy(update={"priority": priority_changes[0].old})
    rt, _ = machine.open_ticket(ticket, terms, opened_at, opened_at)
    ack_delay = acknowledged_at - opened_at if acknowledged_at else None
    steps: list[tuple[datetime, str, Command]] = []
    if first_response_at:
        steps.append((first_response_at, "respond", Respond(actor=ACTOR)))
    if resolved_at:
        steps.append((resolved_at, "resolve", Resolve(actor=ACTOR)))
    for wait in waits or []:
        if wait.status != "resolved":
            steps.append((wait.start, "pause", Pause(actor=ACTOR, status=wait.status)))
            steps.append((wait.end, "resume", Resume(actor=ACTOR)))
    for change in priority_changes or []:
        steps.append(
            (change.at, "change_priority", ChangePriority(actor=ACTOR, priority=change.new))
        )
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


def priority_at(
    final: Priority, changes: list[PriorityChange], moment: datetime | None
) -> Priority:
    """The ticket's priority just before `moment` (None: its final priority)."""
    if moment is None or not changes:
        return final
    current = changes[0].old
    for change in sorted(changes, key=lambda c: c.at):
        if change.at < moment:
            current = change.new
    return current


def clock_deadline(
    target: TargetName,
    *,
    agreement: Agreement,
    calendars: dict[str, ResolvedCalendar],
    channel: Channel,
    opened_at: datetime,
    final_priority: Priority,
    waits: list[Wait],
    changes: list[PriorityChange],
    met_at: datetime | None,
) -> datetime:
    """The deadline `agreement` would have given one target: counted from opening on the
    priority in force when it was met, with the waits its pause rules stop it for (and, for
    resolution, resolved-until-reopened time) deducted up to the meeting."""
    priority = priority_at(final_priority, changes, met_at)
    spec = agreement.objective(priority).spec(target)
    assert spec is not None  # first response and resolution are always measured
    stopping: set[str] = {s for s, kinds in agreement.pauses.items() if target in kinds}
    if target == "resolution":
        stopping.add("resolved")
    pauses = [
        PauseSpan(start=w.start, end=min(w.end, met_at) if met_at else w.end, reason=w.status)
        for w in waits
        if w.status in stopping and (met_at is None or w.start < met_at)
    ]
    name = agreement.target_calendar(priority, channel)
    clock = TargetClock(
        kind=TargetKind(target),
        within=spec.within,
        calendar=name,
        started_at=opened_at,
        pauses=pauses,
    )
    deadline = sla_clock.deadline_of(calendars[name], clock)
    assert deadline is not None  # every pause here is closed
    return deadline
