"""Amendments: a proposed agreement version that every named signatory signs off.

Contracts (the proposal, the decision commands, the live view, the impact report) and the pure
rules the workflow applies: who may decide what, the outcome after each decision, the diff of
two agreement documents and the compliance arithmetic of the impact report. No I/O and no clock:
the workflow passes `now`, and activities feed the compliance arithmetic its data.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from slaflow.agreement import Agreement
from slaflow.calendars import ResolvedCalendar
from slaflow.customers import DEFAULT_AGREEMENT_ID, SLUG_PATTERN
from slaflow.durations import Duration
from slaflow.iso_time import BoundedDatetime
from slaflow.tickets import PinnedTerms, PriorityChange, Wait
from slaflow.tiers import Channel, Priority, Tier
from slaflow.what_if import clock_deadline, escalations_under

AMENDMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
WORKFLOW_ID_PREFIX = "amendment-"
STATE_QUERY = "state"
DECISION_UPDATES = ("approve", "reject", "request_changes", "revise", "withdraw")


MAX_REMINDERS = 30
"""Reminder rounds per amendment at most: bounds the workflow's history (no continue-as-new
needed) and the nagging; the deadline still closes it."""
MIN_REMIND_EVERY = timedelta(minutes=1)


def workflow_id_for(amendment_id: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{amendment_id}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Signatory(_Strict):
    """A party who must sign: asked by email and (with a Slack id) by Slack."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="e.g. customer, service owner, head of support")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    slack_user_id: str | None = None


class AmendmentProposal(_Strict):
    """What `POST /amendments` takes: the whole proposed agreement, or a change set merged onto
    the version it amends. Either way the result is validated as a whole document, so an
    unknown priority or a negative target is refused before anything starts."""

    amendment_id: str = Field(pattern=AMENDMENT_ID_PATTERN)
    proposer: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="Proposer's email.")
    agreement: Agreement | None = Field(None, description="The whole proposed agreement.")
    changes: dict[str, Any] | None = Field(
        None,
        description="Instead of `agreement`: only what changes (targets, tiers, contacts, "
        "calendars, channels), merged onto the amended version; mappings merge key by key, "
        "lists and values replace.",
    )
    rationale: str = Field(min_length=1)
    signatories: list[Signatory] = Field(min_length=1)
    effective_from: BoundedDatetime | None = Field(
        None, description="When the new version takes effect; unset means on sign-off."
    )
    deadline: BoundedDatetime = Field(description="Sign-off must be complete by then.")
    moves_open_tickets: bool = Field(
        False, description="Whether open tickets move to the new terms (else only new tickets)."
    )
    agreement_id: str = Field(
        DEFAULT_AGREEMENT_ID,
        pattern=SLUG_PATTERN,
        description="The agreement it amends; its tickets, versions and reports alone change.",
    )
    amends_version: int = Field(ge=1, description="The agreement version this amends.")
    remind_every: Duration = Field(
        timedelta(days=1), description="Reminder interval to signatories who have not decided."
    )

    @model_validator(mode="after")
    def _one_form(self) -> AmendmentProposal:
        if (self.agreement is None) == (self.changes is None):
            raise ValueError("give either agreement (the whole document) or changes, not both")
        return self

    @field_validator("signatories")
    @classmethod
    def _once_each(cls, value: list[Signatory]) -> list[Signatory]:
        seen: set[str] = set()
        for signatory in value:
            key = signatory.email.lower()
            if key in seen:
                raise ValueError(f"signatory {signatory.email} is listed twice")
            seen.add(key)
        return value

    @field_validator("remind_every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < MIN_REMIND_EVERY:
            raise ValueError("must be at least 1m, e.g. '1d'")
        return value


# ----- commands (updates with validators) -------------------------------------------------------


class _Decision(_Strict):
    by: str = Field(description="Set by slaflow from the credential: the person's email.")
    method: str = Field(
        "", max_length=20, description="How they proved who they are: token, session, slack, link."
    )


class Approve(_Decision):
    comment: str = ""


class Reject(_Decision):
    comment: str = Field(min_length=1, description="Why: required.")


class RequestChanges(_Decision):
    comment: str = Field(min_length=1)


class Revise(_Decision):
    """By the proposer: a new revision; approvals given to the old one are void."""

    agreement: Agreement
    rationale: str = Field(min_length=1)


class Withdraw(_Decision):
    reason: str = ""


AmendmentCommand = Approve | Reject | RequestChanges | Revise | Withdraw

COMMAND_NAMES: dict[type[BaseModel], str] = {
    Approve: "approve",
    Reject: "reject",
    RequestChanges: "request_changes",
    Revise: "revise",
    Withdraw: "withdraw",
}


# ----- state and view ---------------------------------------------------------------------------


class AmendmentStatus(StrEnum):
    PENDING = "pending"
    CHANGES_REQUESTED = "changes_requested"
    SIGNED = "signed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    STALE = "stale"

    @property
    def closed(self) -> bool:
        return self not in (AmendmentStatus.PENDING, AmendmentStatus.CHANGES_REQUESTED)


DecisionKind = Literal["approved", "rejected", "changes_requested"]


class SignatoryDecision(BaseModel):
    signatory: Signatory
    decision: DecisionKind | None = None
    at: AwareDatetime | None = None
    comment: str = ""
    method: str = Field("", description="token, session, slack or link; empty before #16.")


class AmendmentEvent(BaseModel):
    at: AwareDatetime
    actor: str
    kind: str
    revision: int
    detail: str = ""


class Compliance(BaseModel):
    met: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.total, 2) if self.total else None


class TargetImpact(BaseModel):
    current: Compliance
    proposed: Compliance
    current_percent: float | None
    proposed_percent: float | None


class PriorityImpact(BaseModel):
    priority: Priority
    tickets: int
    first_response: TargetImpact
    resolution: TargetImpact
    escalations_current: dict[Tier, int] = Field(
        default_factory=dict, description="Escalations each tier received under the current terms."
    )
    escalations_proposed: dict[Tier, int] = Field(
        default_factory=dict, description="...and would have received under the proposal."
    )


class ImpactReport(BaseModel):
    """What the amendment would have done to the closed tickets of the last `window_days`."""

    revision: int
    window_days: int
    since: AwareDatetime
    until: AwareDatetime
    current_version: int
    latest_version: int | None = Field(
        None,
        description="The newest stored version when the impact was computed; the amendment is "
        "stale when it is not the amended one (None in reports made before this field).",
    )
    tickets: int
    priorities: list[PriorityImpact]
    note: str = (
        "Deadlines recomputed from each ticket's opening time under each version's targets, "
        "calendars and pause rules, like the clocks: waits on the customer or a third party "
        "and resolved-until-reopened time deducted, each target on the priority in force when "
        "it was met (tickets recorded before waits were kept count none). Escalations replay "
        "each ticket through the ticket machine with its pauses and priority changes, every "
        "page acknowledged as fast as the ticket's first one was."
    )


class AmendmentState(BaseModel):
    """The workflow's whole state; pure functions below change it."""

    proposal: AmendmentProposal
    proposed_at: AwareDatetime
    revision: int = 1
    agreement: Agreement
    rationale: str
    status: AmendmentStatus = AmendmentStatus.PENDING
    decisions: list[SignatoryDecision]
    events: list[AmendmentEvent] = Field(default_factory=list)
    impact: ImpactReport | None = None
    impact_error: str | None = None
    asked_revision: int = Field(0, description="Last revision whose approval requests went out.")
    last_asked_at: AwareDatetime | None = None
    reminders: int = 0
    signed_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    closed_reason: str = ""
    committed_version: int | None = None
    effective_from: AwareDatetime | None = None


class AmendmentView(BaseModel):
    amendment_id: str
    status: AmendmentStatus
    revision: int
    proposer: str
    rationale: str
    agreement_id: str = DEFAULT_AGREEMENT_ID
    amends_version: int
    moves_open_tickets: bool
    proposed_at: AwareDatetime
    deadline: AwareDatetime
    effective_from: AwareDatetime | None
    signatories: list[SignatoryDecision]
    impact: ImpactReport | None
    impact_error: str | None
    reminders: int
    closed_at: AwareDatetime | None
    closed_reason: str
    committed_version: int | None
    agreement: Agreement
    events: list[AmendmentEvent]


class Signature(BaseModel):
    """One signature as stored with the committed version."""

    name: str
    role: str
    email: str
    signed_at: AwareDatetime
    comment: str
    revision: int
    method: str = ""


# ----- rules ------------------------------------------------------------------------------------


def merge_changes(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_changes(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_changes_applied(proposal: AmendmentProposal, base: Agreement) -> AmendmentProposal:
    """A change-set proposal made whole against the version it amends; raises pydantic's
    ValidationError (field paths of the merged document) when the result is not an agreement."""
    if proposal.changes is None:
        return proposal
    merged = merge_changes(base.model_dump(mode="json"), proposal.changes)
    return proposal.model_copy(
        update={"agreement": Agreement.model_validate(merged), "changes": None}
    )


def new_state(proposal: AmendmentProposal, now: datetime) -> AmendmentState:
    if proposal.agreement is None:
        raise ValueError("a change set must be applied (with_changes_applied) before it starts")
    state = AmendmentState(
        proposal=proposal,
        proposed_at=now,
        agreement=proposal.agreement,
        rationale=proposal.rationale,
        decisions=[SignatoryDecision(signatory=s) for s in proposal.signatories],
    )
    _event(state, now, proposal.proposer, "proposed", proposal.rationale)
    return state


def _event(state: AmendmentState, now: datetime, actor: str, kind: str, detail: str = "") -> None:
    state.events.append(
        AmendmentEvent(at=now, actor=actor, kind=kind, revision=state.revision, detail=detail)
    )


def record(state: AmendmentState, now: datetime, detail: str) -> None:
    """A note in the amendment's history, e.g. a notification that could not be delivered."""
    _event(state, now, "slaflow", "note", detail)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def find_decision(state: AmendmentState, who: str) -> SignatoryDecision | None:
    """The signatory named by email, or by Slack user id (what a Slack button click knows)."""
    return next(
        (
            d
            for d in state.decisions
            if _same(d.signatory.email, who) or d.signatory.slack_user_id == who.strip()
        ),
        None,
    )


def command_name(command: AmendmentCommand) -> str:
    return COMMAND_NAMES[type(command)]


def refusal(state: AmendmentState, command: AmendmentCommand) -> str | None:
    """Why `command` cannot apply now, or None when it can."""
    name = command_name(command)
    aid = state.proposal.amendment_id
    if state.status.closed:
        why = f": {state.closed_reason}" if state.closed_reason else ""
        return f"amendment {aid} is closed ({state.status.value}{why}); {name} refused"
    if isinstance(command, Revise | Withdraw):
        if not _same(command.by, state.proposal.proposer):
            return f"only the proposer ({state.proposal.proposer}) may {name} amendment {aid}"
        return None
    decision = find_decision(state, command.by)
    if decision is None:
        return f"{command.by} is not a signatory of amendment {aid}"
    if state.status is AmendmentStatus.CHANGES_REQUESTED:
        return f"changes were requested on amendment {aid}; wait for the proposer's revision"
    if decision.decision is not None:
        return (
            f"{command.by} already decided on revision {state.revision} of amendment {aid} "
            f"({decision.decision})"
        )
    return None


def apply(state: AmendmentState, command: AmendmentCommand, now: datetime) -> None:
    """Apply an accepted command (the caller checked `refusal` first)."""
    reason = refusal(state, command)
    if reason:
        raise ValueError(reason)
    if isinstance(command, Withdraw):
        _event(state, now, command.by, "withdrawn", command.reason)
        _close(state, AmendmentStatus.WITHDRAWN, now, command.reason or "withdrawn by proposer")
        return
    if isinstance(command, Revise):
        state.revision += 1
        state.agreement = command.agreement
        state.rationale = command.rationale
        state.status = AmendmentStatus.PENDING
        state.impact = None
        state.impact_error = None
        for voided in state.decisions:
            voided.decision, voided.at, voided.comment, voided.method = None, None, "", ""
        _event(state, now, command.by, "revised", command.rationale)
        return
    decision = find_decision(state, command.by)
    assert decision is not None
    decision.at, decision.comment, decision.method = now, command.comment, command.method
    if isinstance(command, Approve):
        decision.decision = "approved"
        _event(state, now, decision.signatory.email, "approved", command.comment)
        if all(d.decision == "approved" for d in state.decisions):
            state.status = AmendmentStatus.SIGNED
            state.signed_at = now
            state.effective_from = state.proposal.effective_from or now
            _event(state, now, "slaflow", "signed", "every signatory approved")
    elif isinstance(command, Reject):
        decision.decision = "rejected"
        _event(state, now, decision.signatory.email, "rejected", command.comment)
        _close(state, AmendmentStatus.REJECTED, now, f"rejected by {command.by}: {command.comment}")
    else:
        decision.decision = "changes_requested"
        state.status = AmendmentStatus.CHANGES_REQUESTED
        _event(state, now, decision.signatory.email, "changes_requested", command.comment)


def _close(state: AmendmentState, status: AmendmentStatus, now: datetime, reason: str) -> None:
    state.status = status
    state.closed_at = now
    state.closed_reason = reason


def expire(state: AmendmentState, now: datetime) -> None:
    missing = [d.signatory.email for d in state.decisions if d.decision != "approved"]
    reason = f"deadline {state.proposal.deadline.isoformat()} passed; not signed by " + ", ".join(
        missing
    )
    _event(state, now, "slaflow", "expired", reason)
    _close(state, AmendmentStatus.EXPIRED, now, reason)


def mark_committed(state: AmendmentState, version: int, now: datetime) -> None:
    state.committed_version = version
    state.closed_at = now
    state.closed_reason = f"committed as agreement version {version}"
    _event(state, now, "slaflow", "committed", state.closed_reason)


def record_move(state: AmendmentState, now: datetime, moved: int, kept: int) -> None:
    _event(
        state,
        now,
        "slaflow",
        "moved_open_tickets",
        f"{moved} open ticket(s) moved to the new version, {kept} kept their terms",
    )


def stale_reason(state: AmendmentState, latest: int | None) -> str | None:
    """Why the amendment can never take effect, when `latest` is no longer the version it
    amends (committing would refuse it), else None."""
    amends = state.proposal.amends_version
    if latest is None or latest == amends:
        return None
    return (
        f"amendment {state.proposal.amendment_id} amends version {amends}, but version "
        f"{latest} is now the latest; propose it again against {latest}"
    )


def mark_stale(state: AmendmentState, reason: str, now: datetime) -> None:
    _event(state, now, "slaflow", "stale", reason)
    _close(state, AmendmentStatus.STALE, now, reason)


def undecided(state: AmendmentState) -> list[Signatory]:
    return [d.signatory for d in state.decisions if d.decision is None]


def next_reminder(state: AmendmentState) -> datetime | None:
    """When undecided signatories are reminded next (only while awaiting decisions)."""
    if state.status is not AmendmentStatus.PENDING or state.last_asked_at is None:
        return None
    if not undecided(state) or state.reminders >= MAX_REMINDERS:
        return None
    return state.last_asked_at + state.proposal.remind_every


def signatures(state: AmendmentState) -> list[Signature]:
    return [
        Signature(
            name=d.signatory.name,
            role=d.signatory.role,
            email=d.signatory.email,
            signed_at=d.at,
            comment=d.comment,
            revision=state.revision,
            method=d.method,
        )
        for d in state.decisions
        if d.decision == "approved" and d.at is not None
    ]


def view(state: AmendmentState) -> AmendmentView:
    p = state.proposal
    return AmendmentView(
        amendment_id=p.amendment_id,
        status=state.status,
        revision=state.revision,
        proposer=p.proposer,
        rationale=state.rationale,
        agreement_id=p.agreement_id,
        amends_version=p.amends_version,
        moves_open_tickets=p.moves_open_tickets,
        proposed_at=state.proposed_at,
        deadline=p.deadline,
        effective_from=state.effective_from or p.effective_from,
        signatories=state.decisions,
        impact=state.impact,
        impact_error=state.impact_error,
        reminders=state.reminders,
        closed_at=state.closed_at,
        closed_reason=state.closed_reason,
        committed_version=state.committed_version,
        agreement=state.agreement,
        events=state.events,
    )


# ----- diff -------------------------------------------------------------------------------------


class Change(BaseModel):
    """One difference: `path` is dotted (list items by index); `kind` tells an added or
    removed mapping key (then `old` or `new` is None) from a changed value."""

    path: str
    old: Any = None
    new: Any = None
    kind: Literal["changed", "added", "removed"] = "changed"


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Recursive differences of two JSON values (e.g. two `model_dump(mode="json")`).

    Mappings are compared key by key; lists of equal length item by item; a list whose length
    changed is one change of the whole list. Keys must not contain dots.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(Change(path=where, old=old[key], kind="removed"))
            elif key not in old:
                changes.append(Change(path=where, new=new[key], kind="added"))
            else:
                changes.extend(diff(old[key], new[key], where))
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            c
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for c in diff(a, b, f"{path}.{i}" if path else str(i))
        ]
    if old == new and type(old) is type(new):
        return []
    return [Change(path=path, old=old, new=new)]


def apply_diff(document: Any, changes: Iterable[Change]) -> Any:
    """`document` with each change's new value put in place (a copy; the inverse of `diff`)."""
    result = copy.deepcopy(document)
    for change in changes:
        if change.path == "":
            result = copy.deepcopy(change.new)
            continue
        *parents, last = change.path.split(".")
        target = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = copy.deepcopy(change.new)
        elif change.kind == "removed":
            del target[last]
        else:
            target[last] = copy.deepcopy(change.new)
    return result


def agreement_diff(old: Agreement, new: Agreement) -> list[Change]:
    return diff(old.model_dump(mode="json"), new.model_dump(mode="json"))


# ----- compliance arithmetic --------------------------------------------------------------------


class ClosedTicket(BaseModel):
    """What the impact report needs of one closed ticket (from `ticket_facts`)."""

    ticket_id: str
    priority: Priority
    channel: Channel
    opened_at: AwareDatetime
    first_response_at: AwareDatetime | None
    resolved_at: AwareDatetime | None
    acknowledged_at: AwareDatetime | None = None
    waits: list[Wait] = Field(default_factory=list)
    priority_changes: list[PriorityChange] = Field(default_factory=list)


def deadlines(
    ticket: ClosedTicket, agreement: Agreement, calendars: dict[str, ResolvedCalendar]
) -> tuple[datetime, datetime]:
    """First-response and resolution deadlines under `agreement`, computed like the ticket's
    clocks: from opening, on the priority in force when the target was met, minus the waits
    `agreement`'s pause rules stop that target for (and, for resolution, resolved-until-
    reopened time)."""
    common = {
        "agreement": agreement,
        "calendars": calendars,
        "channel": ticket.channel,
        "opened_at": ticket.opened_at,
        "final_priority": ticket.priority,
        "waits": ticket.waits,
        "changes": ticket.priority_changes,
    }
    return (
        clock_deadline("first_response", met_at=ticket.first_response_at, **common),  # type: ignore[arg-type]
        clock_deadline("resolution", met_at=ticket.resolved_at, **common),  # type: ignore[arg-type]
    )


def _met(at: datetime | None, deadline: datetime) -> bool:
    return at is not None and at <= deadline


def compliance(
    tickets: list[ClosedTicket], agreement: Agreement, calendars: dict[str, ResolvedCalendar]
) -> dict[Priority, tuple[Compliance, Compliance]]:
    """Per priority: (first response, resolution) met/total. A target never met is missed."""
    counts = {p: [0, 0, 0] for p in Priority}  # total, first response met, resolution met
    for ticket in tickets:
        first_due, resolve_due = deadlines(ticket, agreement, calendars)
        row = counts[ticket.priority]
        row[0] += 1
        row[1] += _met(ticket.first_response_at, first_due)
        row[2] += _met(ticket.resolved_at, resolve_due)
    return {
        p: (Compliance(met=fr, total=n), Compliance(met=rs, total=n))
        for p, (n, fr, rs) in counts.items()
    }


def escalations(
    tickets: list[ClosedTicket], agreement: Agreement, calendars: dict[str, ResolvedCalendar]
) -> dict[Priority, dict[Tier, int]]:
    """Per priority, how many escalations each tier would have received under `agreement`."""
    terms = PinnedTerms(agreement_version=0, agreement=agreement, calendars=calendars)
    totals: dict[Priority, Counter[Tier]] = {p: Counter() for p in Priority}
    for ticket in tickets:
        totals[ticket.priority] += escalations_under(
            terms,
            ticket_id=ticket.ticket_id,
            priority=ticket.priority,
            channel=ticket.channel,
            opened_at=ticket.opened_at,
            acknowledged_at=ticket.acknowledged_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
            waits=ticket.waits,
            priority_changes=ticket.priority_changes,
        )
    return {p: {t: totals[p][t] for t in Tier if t is not Tier.AGENT} for p in Priority}


def _target(current: Compliance, proposed: Compliance) -> TargetImpact:
    return TargetImpact(
        current=current,
        proposed=proposed,
        current_percent=current.percent,
        proposed_percent=proposed.percent,
    )


def impact(
    tickets: list[ClosedTicket],
    current: Agreement,
    current_calendars: dict[str, ResolvedCalendar],
    proposed: Agreement,
    proposed_calendars: dict[str, ResolvedCalendar],
    *,
    revision: int,
    current_version: int,
    window_days: int,
    since: datetime,
    until: datetime,
) -> ImpactReport:
    before = compliance(tickets, current, current_calendars)
    after = compliance(tickets, proposed, proposed_calendars)
    climbs_before = escalations(tickets, current, current_calendars)
    climbs_after = escalations(tickets, proposed, proposed_calendars)
    return ImpactReport(
        revision=revision,
        window_days=window_days,
        since=since,
        until=until,
        current_version=current_version,
        tickets=len(tickets),
        priorities=[
            PriorityImpact(
                priority=p,
                tickets=before[p][0].total,
                first_response=_target(before[p][0], after[p][0]),
                resolution=_target(before[p][1], after[p][1]),
                escalations_current=climbs_before[p],
                escalations_proposed=climbs_after[p],
            )
            for p in Priority
        ],
    )
