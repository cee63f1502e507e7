"""The ticket's rules as pure functions: what is due next, what a command does, whom to tell.

The workflow owns time and side effects; this module owns decisions. Every function takes the
runtime state and `now` and either answers a question or changes the state and returns the
notices owed. Unit tests drive it without Temporal; the workflow replays it deterministically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from slaflow import ladder, sla_clock
from slaflow.agreement import Contact, EscalationMatrix, PreBreachWarning, TargetSpec
from slaflow.calendars import ResolvedCalendar
from slaflow.credits import breach_consequence
from slaflow.customers import AgreementSelection, unmeasured_reason
from slaflow.durations import format_duration
from slaflow.tickets import (
    SYSTEM_ACTOR,
    Acknowledge,
    AddComment,
    AdoptTerms,
    Assign,
    ChangePriority,
    Command,
    CustomerMessage,
    Escalate,
    EventKind,
    Notice,
    NoticeKind,
    Page,
    Pause,
    PauseSpan,
    PinnedTerms,
    PriorityChange,
    Reopen,
    Reply,
    Resolve,
    Respond,
    Resume,
    TargetClock,
    TargetKind,
    TicketEvent,
    TicketExplanation,
    TicketFacts,
    TicketInput,
    TicketRuntime,
    TicketStatus,
    TicketView,
    Wait,
    workflow_id_for,
)
from slaflow.tiers import Priority, Tier, next_tier


class DueKind(IntEnum):
    """What a clock moment does; at equal moments the lower value goes first."""

    CLOSE = 0
    BREACH = 1
    WARNING = 2
    PAGE_LAPSE = 3
    REMINDER = 4


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: DueKind
    target: TargetKind | None = None
    warning: PreBreachWarning | None = None


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _matrix(rt: TicketRuntime) -> EscalationMatrix:
    return rt.terms.agreement.escalation


def _calendar(rt: TicketRuntime, target: TargetClock) -> ResolvedCalendar:
    return rt.terms.calendars[target.calendar]


def _record(
    rt: TicketRuntime,
    now: datetime,
    kind: EventKind,
    detail: str = "",
    *,
    actor: str = SYSTEM_ACTOR,
    tier: Tier | None = None,
) -> None:
    rt.events.append(TicketEvent(at=now, kind=kind, actor=actor, detail=detail, tier=tier))


# ----- opening ---------------------------------------------------------------------------------


def open_ticket(
    ticket: TicketInput,
    terms: PinnedTerms,
    opened_at: datetime,
    now: datetime,
    selection: AgreementSelection | None = None,
) -> tuple[TicketRuntime, list[Notice]]:
    """A new ticket under pinned terms, paged to the agent tier. A ticket about a service the
    agreement excludes or does not cover is recorded and paged, but its clocks are not
    measured."""
    objective = terms.agreement.objective(ticket.priority)
    calendar = terms.agreement.target_calendar(ticket.priority, ticket.channel)
    targets = [
        TargetClock(kind=kind, within=spec.within, calendar=calendar, started_at=opened_at)
        for kind, spec in (
            (TargetKind.FIRST_RESPONSE, objective.first_response),
            (TargetKind.RESOLUTION, objective.resolution),
        )
    ]
    agents = terms.agreement.escalation.policy(Tier.AGENT)
    page = Page(
        tier=Tier.AGENT,
        paged_at=now,
        contacts=ladder.contacts_to_page(agents, ticket.ticket_id, 0, now, terms.calendars),
    )
    rt = TicketRuntime(
        ticket=ticket,
        opened_at=opened_at,
        terms=terms,
        priority=ticket.priority,
        targets=targets,
        page=page,
        selection=selection,
        unmeasured=_unmeasured(ticket, terms),
    )
    _record(
        rt,
        opened_at,
        EventKind.OPENED,
        f"{ticket.priority} via {ticket.channel}",
        actor=ticket.requester_email,
    )
    _record(rt, now, EventKind.TERMS_PINNED, _pinned(terms, selection))
    if rt.unmeasured:
        _record(rt, now, EventKind.TERMS_PINNED, f"clocks not measured: {rt.unmeasured}")
    _record(rt, now, EventKind.PAGED, _names(page.contacts), tier=Tier.AGENT)
    notice = Notice(
        kind=NoticeKind.NEW_TICKET,
        tier=Tier.AGENT,
        recipients=page.contacts,
        headline=f"New {ticket.priority} ticket from {ticket.customer}",
        reason=f"paged {_names(page.contacts)}",
    )
    return rt, [notice]


def _pinned(terms: PinnedTerms, selection: AgreementSelection | None) -> str:
    if selection is None:  # opened before agreements were many: words as they were
        return f"agreement version {terms.agreement_version}"
    return f"agreement {terms.agreement_id} version {terms.agreement_version} ({selection.rule})"


def _unmeasured(ticket: TicketInput, terms: PinnedTerms) -> str | None:
    agreement = terms.agreement
    return unmeasured_reason(agreement.scope, agreement.exclusions, ticket.service)


def _who(rt: TicketRuntime, tier: Tier, repeat: int, now: datetime) -> list[Contact]:
    policy = _matrix(rt).policy(tier)
    return ladder.contacts_to_page(policy, rt.ticket.ticket_id, repeat, now, rt.terms.calendars)


def _names(contacts: list[Contact]) -> str:
    return ", ".join(c.name for c in contacts)


# ----- the clock -------------------------------------------------------------------------------


def _target_dues(rt: TicketRuntime, target: TargetClock) -> list[Due]:
    if not target.running or target.breached_at is not None:
        return []
    cal = _calendar(rt, target)
    deadline = sla_clock.deadline_of(cal, target)
    assert deadline is not None  # running targets are not paused
    dues = [Due(deadline, DueKind.BREACH, target.kind)]
    spec = _spec(rt, target.kind)
    for warning in spec.warnings if spec else []:
        if warning.at_percent not in target.warnings_fired:
            moment = sla_clock.warning_moment(cal, target, warning.at_percent)
            if moment is not None:
                dues.append(Due(moment, DueKind.WARNING, target.kind, warning))
    return dues


def upcoming(rt: TicketRuntime) -> list[Due]:
    """Every moment the ticket will act at, earliest first (empty once it is closed)."""
    if rt.status is TicketStatus.CLOSED:
        return []
    if rt.status is TicketStatus.RESOLVED:
        assert rt.resolved_at is not None
        return [Due(rt.resolved_at + rt.terms.agreement.reopen_window, DueKind.CLOSE)]
    dues: list[Due] = []
    if rt.unmeasured is not None:  # no SLA clocks and no timed climb, only the owner's reminder
        return _reminder(rt)
    for target in rt.targets:
        dues += _target_dues(rt, target)
    if rt.status.waiting:
        return sorted(dues, key=lambda d: (d.at, d.kind))  # the ladder waits with the ticket
    lapse = ladder.page_lapses_at(_matrix(rt), rt.page)
    if lapse is not None:
        dues.append(Due(lapse, DueKind.PAGE_LAPSE))
    if rt.page.acknowledged_at is not None:
        last = rt.page.last_reminder_at or rt.page.acknowledged_at
        dues.append(Due(last + _matrix(rt).reminder_every, DueKind.REMINDER))
    return sorted(dues, key=lambda d: (d.at, d.kind))


def _reminder(rt: TicketRuntime) -> list[Due]:
    if rt.page.acknowledged_at is None or rt.status.waiting:
        return []
    last = rt.page.last_reminder_at or rt.page.acknowledged_at
    return [Due(last + _matrix(rt).reminder_every, DueKind.REMINDER)]


def next_due(rt: TicketRuntime, now: datetime) -> Due | None:
    """The one thing the ticket does next, in time order, as a live worker would have done it.
    Of what is already overdue (a worker that was down), warnings made moot by their target's
    breach, and all but the highest overdue warning of a target, are skipped, so nobody gets
    stale warnings."""
    dues = upcoming(rt)
    overdue = [d for d in dues if d.at <= now]
    if not overdue:
        return dues[0] if dues else None
    moot: set[int] = set()
    for kind in TargetKind:
        mine = [d for d in overdue if d.target is kind]
        warnings = [id(d) for d in mine if d.kind is DueKind.WARNING]
        if any(d.kind is DueKind.BREACH for d in mine):
            moot.update(warnings)
        else:
            moot.update(warnings[:-1])  # dues are in time order, so the last is the highest
    return next(d for d in overdue if id(d) not in moot)


def apply_due(rt: TicketRuntime, due: Due, now: datetime) -> list[Notice]:
    """Act on a moment that has come; returns the notices owed."""
    if due.kind is DueKind.CLOSE:
        rt.status = TicketStatus.CLOSED
        rt.closed_at = now
        _record(rt, now, EventKind.CLOSED, "reopen window ended")
        return []
    if due.kind is DueKind.BREACH:
        assert due.target is not None
        return _breach(rt, rt.target(due.target), due.at, now)
    if due.kind is DueKind.WARNING:
        assert due.target is not None and due.warning is not None
        return _warn(rt, rt.target(due.target), due.warning, now)
    if due.kind is DueKind.PAGE_LAPSE:
        return _page_lapsed(rt, now)
    return _remind(rt, now)


def _label(kind: TargetKind) -> str:
    return kind.value.replace("_", " ")


def _breach(
    rt: TicketRuntime, target: TargetClock, deadline: datetime, now: datetime
) -> list[Notice]:
    target.breached_at = deadline
    target.warnings_fired = sorted({*target.warnings_fired, *_warning_percents(rt, target.kind)})
    reason = (
        f"{_label(target.kind)} target of {format_duration(target.within)} breached at "
        f"{_fmt(deadline)}"
    )
    cost = breach_consequence(rt.terms.agreement, rt.priority, target.kind.value)
    if cost:
        reason += f"; consequence: {cost}"
    _record(rt, now, EventKind.BREACH, reason, tier=rt.tier)
    above = next_tier(rt.tier)
    if above is None:
        return [
            Notice(
                kind=NoticeKind.BREACH,
                tier=rt.tier,
                recipients=rt.page.contacts,
                headline=f"SLA breached: {_label(target.kind)}",
                reason=reason,
            )
        ]
    return [_escalate(rt, above, reason, now)]


def _warn(
    rt: TicketRuntime, target: TargetClock, warning: PreBreachWarning, now: datetime
) -> list[Notice]:
    target.warnings_fired = sorted(
        {*target.warnings_fired, warning.at_percent}
        | {p for p in _warning_percents(rt, target.kind) if p < warning.at_percent}
    )
    cal = _calendar(rt, target)
    deadline = sla_clock.deadline_of(cal, target)
    left = target.within - sla_clock.used_time(cal, target, now)
    reason = (
        f"{warning.at_percent}% of the {_label(target.kind)} target used; "
        f"{format_duration(left)} left, due {_fmt(deadline) if deadline else 'when resumed'}"
    )
    _record(rt, now, EventKind.WARNING, reason, tier=warning.notify)
    recipients = rt.page.contacts if warning.notify is rt.tier else _who(rt, warning.notify, 0, now)
    return [
        Notice(
            kind=NoticeKind.WARNING,
            tier=warning.notify,
            recipients=recipients,
            headline=f"SLA warning: {_label(target.kind)} due soon",
            reason=reason,
        )
    ]


def _spec(
    rt: TicketRuntime, kind: TargetKind, priority: Priority | None = None
) -> TargetSpec | None:
    """The pinned terms' target for a clock kind at a priority (default the ticket's)."""
    return rt.terms.agreement.objective(priority or rt.priority).spec(kind.value)


def _warning_percents(rt: TicketRuntime, kind: TargetKind) -> list[int]:
    spec = _spec(rt, kind)
    return [w.at_percent for w in spec.warnings] if spec else []


def _escalate(
    rt: TicketRuntime, tier: Tier, reason: str, now: datetime, *, actor: str = SYSTEM_ACTOR
) -> Notice:
    previous = rt.tier
    rt.page = Page(tier=tier, paged_at=now, contacts=_who(rt, tier, 0, now))
    if rt.status is TicketStatus.ACKNOWLEDGED:
        rt.status = TicketStatus.OPEN  # the new tier has to acknowledge again
    if tier.rank > rt.highest_tier.rank:
        rt.highest_tier = tier
    _record(
        rt,
        now,
        EventKind.ESCALATED,
        f"{previous.label} -> {tier.label}: {reason}",
        actor=actor,
        tier=tier,
    )
    return Notice(
        kind=NoticeKind.ESCALATION,
        tier=tier,
        recipients=rt.page.contacts,
        headline=f"Escalated to {tier.label}",
        reason=reason,
        inform_tiers=ladder.tiers_below(tier),
    )


def _page_lapsed(rt: TicketRuntime, now: datetime) -> list[Notice]:
    matrix = _matrix(rt)
    page = rt.page
    if page.tier is not Tier.MANAGEMENT:
        window = format_duration(matrix.policy(page.tier).ack_window)
        reason = f"{page.tier.label} did not acknowledge within {window}"
        above = next_tier(page.tier)
        assert above is not None
        return [_escalate(rt, above, reason, now)]
    repeat = page.repeat + 1
    rt.page = page.model_copy(
        update={
            "paged_at": now,
            "repeat": repeat,
            "contacts": _who(rt, Tier.MANAGEMENT, repeat, now),
        }
    )
    reason = f"still unacknowledged: page {repeat} of {matrix.repeat_limit} repeats"
    _record(rt, now, EventKind.REPAGED, reason, tier=Tier.MANAGEMENT)
    return [
        Notice(
            kind=NoticeKind.REPEAT_PAGE,
            tier=Tier.MANAGEMENT,
            recipients=rt.page.contacts,
            headline="Still unacknowledged",
            reason=reason,
        )
    ]


def owner(rt: TicketRuntime) -> str | None:
    return rt.assignee or rt.page.acknowledged_by


def _remind(rt: TicketRuntime, now: datetime) -> list[Notice]:
    rt.page.last_reminder_at = now
    who = owner(rt)
    recipients = ladder.find_owner_contacts(_matrix(rt), who) or rt.page.contacts
    reason = f"acknowledged by {rt.page.acknowledged_by}, still not resolved"
    _record(rt, now, EventKind.REMINDED, f"{_names(recipients)}: {reason}", tier=rt.tier)
    return [
        Notice(
            kind=NoticeKind.REMINDER,
            tier=rt.tier,
            recipients=recipients,
            headline=f"Reminder: ticket {rt.ticket.ticket_id} is yours",
            reason=reason,
        )
    ]


# ----- commands --------------------------------------------------------------------------------


def refusal(rt: TicketRuntime, name: str, command: Command) -> str | None:
    """Why a command cannot be carried out now, or None. Validators call this, so a refused
    command never reaches the history."""
    if rt.status is TicketStatus.CLOSED:
        return f"ticket {rt.ticket.ticket_id} is closed"
    resolved = rt.status is TicketStatus.RESOLVED
    if isinstance(command, AdoptTerms):
        if command.agreement_id != rt.terms.agreement_id:
            return (
                f"ticket is under agreement {rt.terms.agreement_id}, "
                f"not {command.agreement_id}: it keeps its terms"
            )
        if command.agreement_version <= rt.terms.agreement_version:
            return f"ticket is already on agreement version {rt.terms.agreement_version}"
        return f"ticket {rt.ticket.ticket_id} is resolved; it keeps its terms" if resolved else None
    if name == "comment":
        return None
    if name == "reopen":
        return None if resolved else f"ticket {rt.ticket.ticket_id} is not resolved"
    if resolved:
        when = _fmt(rt.resolved_at) if rt.resolved_at else "earlier"
        return f"ticket {rt.ticket.ticket_id} was already resolved at {when}; reopen it first"
    if name == "acknowledge" and rt.page.acknowledged_at is not None:
        return (
            f"the {rt.tier.label} page was already acknowledged by {rt.page.acknowledged_by} "
            f"at {_fmt(rt.page.acknowledged_at)}"
        )
    if name == "respond":
        met = rt.target(TargetKind.FIRST_RESPONSE).met_at
        if met is not None:
            return f"the first response was already recorded at {_fmt(met)}"
    if isinstance(command, Pause) and rt.status.waiting:
        return f"ticket is already {rt.status.value.replace('_', ' ')}; resume it first"
    if name == "resume" and not rt.status.waiting:
        return "ticket is not waiting on anyone"
    if name == "escalate" and next_tier(rt.tier) is None:
        return f"ticket is already at {rt.tier.label}, the top of the ladder"
    if isinstance(command, ChangePriority) and command.priority is rt.priority:
        return f"ticket already has priority {rt.priority}"
    return None


def apply_command(rt: TicketRuntime, name: str, command: Command, now: datetime) -> list[Notice]:
    """Carry out a command that `refusal` accepted; returns the notices owed."""
    actor = command.actor
    if isinstance(command, Acknowledge):
        rt.page.acknowledged_at = now
        rt.page.acknowledged_by = actor
        rt.status = TicketStatus.ACKNOWLEDGED
        rt.assignee = rt.assignee or actor
        _record(rt, now, EventKind.ACKNOWLEDGED, f"{rt.tier.label} page", actor=actor, tier=rt.tier)
        return [_update(rt, f"Acknowledged by {actor}")]
    if isinstance(command, Assign):
        rt.assignee = command.assignee
        _record(rt, now, EventKind.ASSIGNED, command.assignee, actor=actor)
        return [_update(rt, f"Assigned to {command.assignee} by {actor}")]
    if isinstance(command, Respond):
        _meet(rt.target(TargetKind.FIRST_RESPONSE), now)
        _answered(rt, now)
        _record(rt, now, EventKind.RESPONDED, command.note, actor=actor)
        return [_update(rt, f"First response by {actor}")]
    if isinstance(command, Reply):
        _meet(rt.target(TargetKind.FIRST_RESPONSE), now)
        _answered(rt, now)
        _record(rt, now, EventKind.REPLIED, command.note, actor=actor)
        return [_update(rt, f"Replied by {actor}")]
    if isinstance(command, CustomerMessage):
        started = _start_clock(rt, TargetKind.NEXT_REPLY, now)
        detail = "next reply due" if started else "no new reply clock"
        _record(rt, now, EventKind.CUSTOMER_MESSAGE, _joined(detail, command.text), actor=actor)
        return [_update(rt, f"Customer wrote ({actor})", command.text)]
    if isinstance(command, Resolve):
        for target in rt.targets:
            _meet(target, now)
        rt.status = TicketStatus.RESOLVED
        rt.resolved_at = now
        rt.waiting_since = None
        _record(rt, now, EventKind.RESOLVED, command.note, actor=actor)
        return [_update(rt, f"Resolved by {actor}", command.note)]
    if isinstance(command, Reopen):
        resolution = rt.target(TargetKind.RESOLUTION)
        if resolution.met_at is not None:
            resolution.pauses.append(
                PauseSpan(start=resolution.met_at, end=now, reason="resolved until reopened")
            )
            resolution.met_at = None
        rt.status = TicketStatus.ACKNOWLEDGED if rt.page.acknowledged_at else TicketStatus.OPEN
        rt.resolved_at = None
        rt.reopen_count += 1
        if rt.target(TargetKind.FIRST_RESPONSE).met_at is not None:
            _start_clock(rt, TargetKind.PERIODIC_UPDATE, now)
        _record(rt, now, EventKind.REOPENED, command.reason, actor=actor)
        return [_update(rt, f"Reopened by {actor}", command.reason)]
    if isinstance(command, ChangePriority):
        return [_change_priority(rt, command, now)]
    if isinstance(command, Escalate):
        above = next_tier(rt.tier)
        assert above is not None
        return [_escalate(rt, above, f"manual: {command.reason}", now, actor=actor)]
    if isinstance(command, Pause):
        return [_pause(rt, command, now)]
    if isinstance(command, Resume):
        return [_resume(rt, command, now)]
    if isinstance(command, AddComment):
        _record(rt, now, EventKind.COMMENTED, command.text, actor=actor)
        return []
    raise ValueError(f"unknown command {name!r}")


def _pause(rt: TicketRuntime, command: Pause, now: datetime) -> Notice:
    """Stop the clocks the agreement's pause rules name for this status."""
    stopped = rt.terms.agreement.pauses.get(command.status, [])
    for target in rt.targets:
        if target.kind.value in stopped and target.met_at is None:
            target.pauses.append(PauseSpan(start=now, reason=command.status))
    rt.status = TicketStatus(command.status)
    rt.waiting_since = now
    label = command.status.replace("_", " ")
    party = f"; party: {command.party}" if command.party else ""
    detail = f"{label}{party}; stopped: {', '.join(stopped) or 'no clock'}"
    if command.note:
        detail += f" ({command.note})"
    _record(rt, now, EventKind.PAUSED, detail, actor=command.actor)
    return _update(rt, f"{label.capitalize()} (set by {command.actor})", command.note)


def _resume(rt: TicketRuntime, command: Resume, now: datetime) -> Notice:
    """Restart the clocks; the ack window and reminders do not count the waiting time."""
    for target in rt.targets:
        if target.paused:
            target.pauses[-1].end = now
    waited = now - (rt.waiting_since or now)
    if rt.page.acknowledged_at is None:
        rt.page.paged_at += waited
    else:
        rt.page.last_reminder_at = now
    rt.waiting_since = None
    rt.status = TicketStatus.ACKNOWLEDGED if rt.page.acknowledged_at else TicketStatus.OPEN
    _record(rt, now, EventKind.RESUMED, command.note, actor=command.actor)
    return _update(rt, f"Resumed by {command.actor}", command.note)


def _joined(detail: str, text: str) -> str:
    return f"{detail}: {text}" if text else detail


def _answered(rt: TicketRuntime, now: datetime) -> None:
    """The customer heard from support: the waiting message is answered and the
    periodic-update clock starts over."""
    for kind in (TargetKind.NEXT_REPLY, TargetKind.PERIODIC_UPDATE):
        clock = rt.current(kind)
        if clock is not None:
            _meet(clock, now)
    _start_clock(rt, TargetKind.PERIODIC_UPDATE, now)


def _start_clock(rt: TicketRuntime, kind: TargetKind, now: datetime) -> bool:
    """Start a repeating clock at `now` unless the terms do not measure it or one is still
    running (the oldest unanswered message sets the pace). Started while the ticket waits,
    it is paused at once if that status stops it."""
    spec = _spec(rt, kind)
    previous = rt.current(kind)
    if spec is None or (previous is not None and previous.met_at is None):
        return False
    if previous is not None:
        _retire(rt, previous)
    clock = TargetClock(
        kind=kind,
        within=spec.within,
        calendar=rt.terms.agreement.target_calendar(rt.priority, rt.ticket.channel),
        started_at=now,
    )
    stops = [s for s, kinds in rt.terms.agreement.pauses.items() if kind.value in kinds]
    if rt.status.value in stops:
        clock.pauses.append(PauseSpan(start=now, reason=rt.status.value))
    rt.targets.append(clock)
    return True


def _retire(rt: TicketRuntime, clock: TargetClock) -> None:
    """Drop a repeating clock that is replaced; its breach still counts for the ticket."""
    if clock.breached_at is not None:
        rt.past_breaches += 1
    rt.targets.remove(clock)


def _meet(target: TargetClock, now: datetime) -> None:
    if target.met_at is None:
        if target.paused:
            target.pauses[-1].end = now
        target.met_at = now


def adopt_terms(rt: TicketRuntime, terms: PinnedTerms, actor: str, now: datetime) -> Notice:
    """Newer terms for an open ticket: open targets take the new objective counted from the
    opening, keeping paused time; met and breached targets stay as they were."""
    old = rt.terms.agreement_version
    rt.terms = terms
    rt.unmeasured = _unmeasured(rt.ticket, terms)
    _retarget(rt, rt.priority, now)
    detail = f"agreement version {old} -> {terms.agreement_version}"
    _record(rt, now, EventKind.TERMS_CHANGED, detail, actor=actor)
    return _update(rt, f"Now under agreement version {terms.agreement_version}", detail)


def _retarget(rt: TicketRuntime, priority: Priority, now: datetime) -> None:
    """Open targets take `priority`'s objective from the pinned terms; warnings already behind
    the recomputed clock are marked fired so they are not sent late."""
    for target in list(rt.targets):
        if target.met_at is None:
            spec = _spec(rt, target.kind, priority)
            if spec is None:  # the new terms do not measure this repeating clock
                _retire(rt, target)
                continue
            target.within = spec.within
            target.calendar = rt.terms.agreement.target_calendar(priority, rt.ticket.channel)
    rt.priority = priority
    for target in rt.targets:
        if target.running and target.breached_at is None:
            used = sla_clock.used_time(_calendar(rt, target), target, now)
            target.warnings_fired = [
                p for p in _warning_percents(rt, target.kind) if target.within * p / 100 <= used
            ]


def _change_priority(rt: TicketRuntime, command: ChangePriority, now: datetime) -> Notice:
    """Open targets take the new objective, counted from the opening; breaches stay."""
    old = rt.priority
    _retarget(rt, command.priority, now)
    detail = f"{old} -> {command.priority}" + (f": {command.reason}" if command.reason else "")
    _record(rt, now, EventKind.PRIORITY_CHANGED, detail, actor=command.actor)
    return _update(rt, f"Priority {old} -> {command.priority} by {command.actor}", command.reason)


def _update(rt: TicketRuntime, headline: str, reason: str = "") -> Notice:
    """A state change the Slack thread should show; not worth an email."""
    return Notice(
        kind=NoticeKind.UPDATE,
        tier=rt.tier,
        recipients=[],
        headline=headline,
        reason=reason,
        email=False,
    )


def record_notification(
    rt: TicketRuntime, now: datetime, ok: bool, detail: str, tier: Tier
) -> None:
    _record(rt, now, EventKind.NOTIFIED if ok else EventKind.NOTIFICATION_FAILED, detail, tier=tier)


# ----- views -----------------------------------------------------------------------------------


def view(rt: TicketRuntime, now: datetime) -> TicketView:
    """The ticket's live state as queries and the API show it."""
    t = rt.ticket
    return TicketView(
        ticket_id=t.ticket_id,
        workflow_id=workflow_id_for(t.ticket_id),
        customer=t.customer,
        subject=t.subject,
        description=t.description,
        channel=t.channel,
        requester_email=t.requester_email,
        priority=rt.priority,
        status=rt.status,
        tier=rt.tier,
        highest_tier=rt.highest_tier,
        assignee=rt.assignee,
        acknowledged_by=rt.page.acknowledged_by,
        paged=[c.email for c in rt.page.contacts],
        service=t.service,
        tags=list(t.tags),
        agreement_id=rt.terms.agreement_id,
        agreement_rule=rt.selection.rule if rt.selection else None,
        measured=rt.unmeasured is None,
        unmeasured_reason=rt.unmeasured,
        agreement_version=rt.terms.agreement_version,
        opened_at=rt.opened_at,
        resolved_at=rt.resolved_at,
        closed_at=rt.closed_at,
        breached=rt.breached,
        targets=[]
        if rt.unmeasured
        else [sla_clock.view_target(_calendar(rt, x), x, now) for x in rt.targets],
        events=list(rt.events),
        as_of=now,
    )


def _counted_seconds(rt: TicketRuntime, target: TargetClock) -> float | None:
    """Business seconds a met target's clock counted (its pauses excluded), else None."""
    if target.met_at is None:
        return None
    return sla_clock.used_time(_calendar(rt, target), target, target.met_at).total_seconds()


@dataclass
class _PauseTally:
    """Pauses read off the history: a pause ends at the next resume or resolution."""

    count: int = 0
    seconds: float = 0.0
    repause_gaps: list[float] = field(default_factory=list)


def _pause_tally(rt: TicketRuntime) -> _PauseTally:
    tally = _PauseTally()
    started: datetime | None = None
    resumed: datetime | None = None
    for event in rt.events:
        if event.kind is EventKind.PAUSED:
            tally.count += 1
            started = event.at
            if resumed is not None:
                tally.repause_gaps.append((event.at - resumed).total_seconds())
            resumed = None
        elif event.kind in (EventKind.RESUMED, EventKind.RESOLVED, EventKind.REOPENED):
            if started is not None:
                tally.seconds += (event.at - started).total_seconds()
                started = None
            resumed = event.at if event.kind is EventKind.RESUMED else None
    if started is not None:  # still on hold: count up to the latest moment the ticket knows
        end = rt.resolved_at or rt.closed_at or rt.events[-1].at
        tally.seconds += max((end - started).total_seconds(), 0.0)
    return tally


_PRIORITY_CHANGE = re.compile(r"^(P[1-4]) -> (P[1-4])")
_PARTY = re.compile(r"^[a-z ]+; party: ([A-Za-z0-9 .&-]+);")


def _waits(rt: TicketRuntime) -> list[Wait]:
    """Closed waiting spans read off the history: a pause until its resume or resolution,
    a resolution until its reopening (the status is the pause detail's first words)."""
    waits: list[Wait] = []
    open_at: datetime | None = None
    status = ""
    party: str | None = None
    for event in rt.events:
        if event.kind is EventKind.PAUSED:
            open_at, status = event.at, event.detail.split(";")[0].replace(" ", "_")
            named = _PARTY.match(event.detail)
            party = named.group(1) if named else None
        elif event.kind is EventKind.RESOLVED:
            if open_at is not None and status != "resolved":
                waits.append(_wait(open_at, event.at, status, party))
            open_at, status, party = event.at, "resolved", None
        elif event.kind in (EventKind.RESUMED, EventKind.REOPENED) and open_at is not None:
            waits.append(_wait(open_at, event.at, status, party))
            open_at = None
    return [w for w in waits if w.end > w.start]


def _wait(start: datetime, end: datetime, status: str, party: str | None) -> Wait:
    return Wait.model_validate({"start": start, "end": end, "status": status, "party": party})


def _priority_changes(rt: TicketRuntime) -> list[PriorityChange]:
    changes = []
    for event in rt.events:
        found = _PRIORITY_CHANGE.match(event.detail)
        if event.kind is EventKind.PRIORITY_CHANGED and found:
            old, new = found.groups()
            changes.append(PriorityChange(at=event.at, old=Priority(old), new=Priority(new)))
    return changes


def _tier_ack_seconds(rt: TicketRuntime) -> dict[Tier, float]:
    """Per tier: from its first page (the opening page, or the escalation to it) to its first
    acknowledgement, wall-clock."""
    paged: dict[Tier, datetime] = {}
    acked: dict[Tier, float] = {}
    for event in rt.events:
        if event.tier is None:
            continue
        if event.kind in (EventKind.PAGED, EventKind.ESCALATED):
            paged.setdefault(event.tier, event.at)
        elif event.kind is EventKind.ACKNOWLEDGED and event.tier in paged:
            acked.setdefault(event.tier, (event.at - paged[event.tier]).total_seconds())
    return acked


def facts(rt: TicketRuntime) -> TicketFacts:
    """What reporting keeps of the ticket. Pure and deterministic: the workflow calls it."""
    first = rt.target(TargetKind.FIRST_RESPONSE)
    resolution = rt.target(TargetKind.RESOLUTION)
    acks = [e.at for e in rt.events if e.kind is EventKind.ACKNOWLEDGED]
    pauses = _pause_tally(rt)
    done = rt.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    return TicketFacts(
        ticket_id=rt.ticket.ticket_id,
        customer=rt.ticket.customer,
        priority=rt.priority,
        channel=rt.ticket.channel,
        agreement_version=rt.terms.agreement_version,
        agreement_id=rt.terms.agreement_id,
        measured=rt.unmeasured is None,
        opened_at=rt.opened_at,
        acknowledged_at=min(acks) if acks else None,
        first_response_at=first.met_at,
        resolved_at=rt.resolved_at,
        closed_at=rt.closed_at,
        first_response_target_seconds=first.within.total_seconds(),
        resolution_target_seconds=resolution.within.total_seconds(),
        first_response_breached=first.breached_at is not None,
        resolution_breached=resolution.breached_at is not None,
        highest_tier=rt.highest_tier,
        escalations=sum(1 for e in rt.events if e.kind is EventKind.ESCALATED),
        reopen_count=rt.reopen_count,
        status=rt.status,
        paused_seconds=pauses.seconds,
        pauses=pauses.count,
        repause_gaps_seconds=pauses.repause_gaps,
        first_response_seconds=_counted_seconds(rt, first),
        resolution_seconds=_counted_seconds(rt, resolution),
        acknowledged_seconds=(
            sla_clock.counted_until(_calendar(rt, first), first, min(acks)).total_seconds()
            if acks
            else None
        ),
        resolved_tier=rt.tier if done else None,
        tier_ack_seconds=_tier_ack_seconds(rt),
        waits=_waits(rt),
        priority_changes=_priority_changes(rt),
    )


def explain(rt: TicketRuntime, now: datetime) -> TicketExplanation:
    """Every deadline of the ticket with the arithmetic that produced it."""
    return TicketExplanation(
        ticket_id=rt.ticket.ticket_id,
        priority=rt.priority.value,
        channel=rt.ticket.channel.value,
        agreement_version=rt.terms.agreement_version,
        agreement_id=rt.terms.agreement_id,
        agreement_rule=rt.selection.rule if rt.selection else None,
        measured=rt.unmeasured is None,
        unmeasured_reason=rt.unmeasured,
        targets=[]
        if rt.unmeasured
        else [sla_clock.explain_target(_calendar(rt, t), t, now) for t in rt.targets],
        as_of=now,
    )
