"""Contracts of a ticket: what intake sends, what commands carry, what a query answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from slaflow.agreement import Agreement, Contact, PauseStatus
from slaflow.calendars import ResolvedCalendar
from slaflow.customers import DEFAULT_AGREEMENT_ID, SLUG_PATTERN, AgreementSelection
from slaflow.iso_time import IsoDatetime
from slaflow.tiers import Channel, Priority, Tier

TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SYSTEM_ACTOR = "slaflow"


OPENED_AT_MAX_AGE = timedelta(days=366)
OPENED_AT_MAX_AHEAD = timedelta(days=1)
"""The window an intake's `opened_at` must lie in around the moment of intake: a year back
(older tickets only replay a year of breaches) and a day ahead (clock skew of the sender)."""


def opened_at_problem(opened_at: datetime, now: datetime) -> str | None:
    """Why `opened_at` cannot open a ticket now, or None. Checked at the edge (API, CLI)."""
    if opened_at < now - OPENED_AT_MAX_AGE:
        return f"{opened_at.isoformat()} is more than {OPENED_AT_MAX_AGE.days} days ago"
    if opened_at > now + OPENED_AT_MAX_AHEAD:
        return f"{opened_at.isoformat()} is more than {OPENED_AT_MAX_AHEAD.days} day ahead"
    return None


def workflow_id_for(ticket_id: str) -> str:
    """One workflow per ticket, forever: the id is how duplicates are refused."""
    return f"ticket-{ticket_id}"


Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f]+$")]


class TicketInput(BaseModel):
    """A ticket as the intake system reports it."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str = Field(pattern=TICKET_ID_PATTERN, description="The intake system's id.")
    customer: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=500)
    description: str = Field("", max_length=20000)
    priority: Priority
    channel: Channel
    requester_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    opened_at: IsoDatetime | None = Field(
        None, description="When the customer opened it; defaults to the moment of intake."
    )
    service: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The service or product it is about: agreement rules and scope match it.",
    )
    tags: list[Tag] = Field(
        default_factory=list, max_length=20, description="Agreement rules may require tags."
    )


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def waiting(self) -> bool:
        """A pause status: the agreement says which clocks stop in it."""
        return self in (TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.WAITING_ON_THIRD_PARTY)


class TargetKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"
    NEXT_REPLY = "next_reply"
    PERIODIC_UPDATE = "periodic_update"

    @property
    def repeats(self) -> bool:
        """A clock that starts again after it is met (one per customer message or update)."""
        return self in (TargetKind.NEXT_REPLY, TargetKind.PERIODIC_UPDATE)


class PauseSpan(BaseModel):
    """A stretch of time a target's clock did not run (resolved-then-reopened, or a pause)."""

    start: AwareDatetime
    end: AwareDatetime | None = None
    reason: str = ""


class TargetClock(BaseModel):
    """One SLA target of one ticket; its deadline is derived, never stored."""

    kind: TargetKind
    within: timedelta
    calendar: str
    started_at: AwareDatetime
    met_at: AwareDatetime | None = None
    breached_at: AwareDatetime | None = None
    warnings_fired: list[int] = Field(default_factory=list)
    pauses: list[PauseSpan] = Field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.met_at is None and not self.paused

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None


class Page(BaseModel):
    """The current page of a tier: who was paged, and whether anyone acknowledged it."""

    tier: Tier
    paged_at: AwareDatetime
    repeat: int = Field(0, description="0 for the first page of this tier, then 1, 2, ...")
    contacts: list[Contact] = Field(default_factory=list)
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    last_reminder_at: AwareDatetime | None = None


class EventKind(StrEnum):
    OPENED = "opened"
    TERMS_PINNED = "terms_pinned"
    PAGED = "paged"
    WARNING = "warning"
    BREACH = "breach"
    ESCALATED = "escalated"
    REPAGED = "repaged"
    REMINDED = "reminded"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    CUSTOMER_MESSAGE = "customer_message"
    REPLIED = "replied"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    PAUSED = "paused"
    TERMS_CHANGED = "terms_changed"
    RESUMED = "resumed"
    PRIORITY_CHANGED = "priority_changed"
    COMMENTED = "commented"
    NOTIFIED = "notified"
    NOTIFICATION_FAILED = "notification_failed"
    CLOSED = "closed"


class TicketEvent(BaseModel):
    """One line of a ticket's history: what happened, who did it, when and why."""

    at: AwareDatetime
    kind: EventKind
    actor: str = SYSTEM_ACTOR
    detail: str = ""
    tier: Tier | None = None


class PinnedTerms(BaseModel):
    """The agreement version in force when the ticket opened, with its calendars resolved."""

    agreement_id: str = Field(
        DEFAULT_AGREEMENT_ID, description="Whose version; terms pinned before were the default's."
    )
    agreement_version: int
    agreement: Agreement
    calendars: dict[str, ResolvedCalendar]


class SlackThread(BaseModel):
    channel: str
    ts: str


class TicketRuntime(BaseModel):
    """Everything the ticket workflow knows; carried whole across continue-as-new."""

    ticket: TicketInput
    opened_at: AwareDatetime
    terms: PinnedTerms
    priority: Priority
    status: TicketStatus = TicketStatus.OPEN
    assignee: str | None = None
    targets: list[TargetClock]
    page: Page
    highest_tier: Tier = Tier.AGENT
    resolved_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    reopen_count: int = 0
    waiting_since: AwareDatetime | None = None
    events: list[TicketEvent] = Field(default_factory=list)
    notice_seq: int = Field(0, description="Counter behind each notification's idempotency key.")
    slack_threads: dict[Tier, SlackThread] = Field(default_factory=dict)
    selection: AgreementSelection | None = Field(
        None, description="Which agreement intake chose and why; None before there were many."
    )
    unmeasured: str | None = Field(
        None, description="Why the clocks are not measured (out of scope or excluded)."
    )
    past_breaches: int = Field(
        0, description="Breached next-reply and periodic-update clocks since replaced."
    )

    @property
    def tier(self) -> Tier:
        return self.page.tier

    def target(self, kind: TargetKind) -> TargetClock:
        return next(t for t in self.targets if t.kind == kind)

    def current(self, kind: TargetKind) -> TargetClock | None:
        """The clock of a kind now kept, if any (repeating clocks come and go)."""
        return next((t for t in self.targets if t.kind == kind), None)

    @property
    def breached(self) -> bool:
        return self.past_breaches > 0 or any(t.breached_at is not None for t in self.targets)


class TicketWorkflowInput(BaseModel):
    """What TicketWorkflow starts with. Defined here, outside the workflow module, because the
    sandbox re-executes that module for every ticket and would build this model again each time."""

    ticket: TicketInput
    selection: AgreementSelection | None = Field(
        None, description="The agreement intake chose; None for tickets opened before."
    )
    carried: TicketRuntime | None = Field(
        None, description="State handed over by continue-as-new; None for a new ticket."
    )
    history_limit: int = Field(
        8000, description="Continue as new past this many history events (or when suggested)."
    )


class NoticeKind(StrEnum):
    NEW_TICKET = "new_ticket"
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"
    REPEAT_PAGE = "repeat_page"
    REMINDER = "reminder"
    UPDATE = "update"


class Notice(BaseModel):
    """A notification the ticket owes someone: decided by pure logic, delivered by activities."""

    kind: NoticeKind
    tier: Tier
    recipients: list[Contact]
    headline: str
    reason: str = ""
    inform_tiers: list[Tier] = Field(
        default_factory=list, description="Earlier tiers told in their Slack thread too."
    )
    email: bool = Field(True, description="False for updates that only belong in the Slack thread.")


# ----- commands (workflow updates) -------------------------------------------------------------


class Command(BaseModel):
    """Who issues a command; every command lands in the ticket's history under this name."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=200, description="Person issuing the command.")


class Assign(Command):
    assignee: str = Field(min_length=1, max_length=200)


class Acknowledge(Command):
    pass


class Respond(Command):
    note: str = Field("", max_length=20000)


class Resolve(Command):
    note: str = Field("", max_length=20000)


class Reopen(Command):
    reason: str = Field(min_length=1, max_length=2000)


class ChangePriority(Command):
    priority: Priority
    reason: str = Field("", max_length=2000)


class Escalate(Command):
    reason: str = Field(min_length=1, max_length=2000)


PARTY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 .&-]{0,99}$"
"""A third party's name: letters, digits, spaces and . & - (it is written into the history)."""


class Pause(Command):
    """Wait on the customer or a third party: the agreement's pause rules stop clocks."""

    status: PauseStatus = "waiting_on_customer"
    note: str = Field("", max_length=2000)
    party: str | None = Field(
        None,
        pattern=PARTY_PATTERN,
        description="Which third party is waited on (with waiting_on_third_party): its own "
        "target in the agreement's `third_parties` measures the wait.",
    )

    @field_validator("party")
    @classmethod
    def _third_party_only(cls, party: str | None, info: ValidationInfo) -> str | None:
        if party is not None and info.data.get("status") != "waiting_on_third_party":
            raise ValueError("only a wait with status waiting_on_third_party names a party")
        return party


class Resume(Command):
    note: str = Field("", max_length=2000)


class CustomerMessage(Command):
    """The customer wrote and waits for an answer: starts the next-reply clock when the
    agreement measures one and none is running."""

    text: str = Field("", max_length=20000)


class Reply(Command):
    """The agent answered the customer: meets the first response if still owed, stops the
    next-reply clock, and starts the periodic-update clock again."""

    note: str = Field("", max_length=20000)


class AddComment(Command):
    text: str = Field(min_length=1, max_length=20000)


class AdoptTerms(Command):
    """Move an open ticket to a newer agreement version (an amendment that moves open
    tickets): targets are recomputed from the opening, elapsed and paused time kept."""

    agreement_version: int = Field(ge=1)
    agreement_id: str = Field(DEFAULT_AGREEMENT_ID, pattern=SLUG_PATTERN)


class Snapshot(BaseModel):
    """Argument of the read-only update that waits until a new ticket has pinned its terms."""


# ----- what queries answer ---------------------------------------------------------------------


class TargetView(BaseModel):
    kind: TargetKind
    within_seconds: float
    calendar: str
    deadline: datetime | None = Field(None, description="UTC; None while paused or met.")
    deadline_local: datetime | None = Field(
        None, description="The deadline in the calendar's zone."
    )
    remaining_seconds: float | None = Field(
        None, description="Business time left (negative: late)."
    )
    elapsed_seconds: float = Field(0, description="Business time counted so far.")
    paused_seconds: float = Field(0, description="Business time the clock stood still.")
    status: str = Field(description="running, paused, met, breached or met_late")
    met_at: datetime | None = None
    breached_at: datetime | None = None


class PauseExplanation(BaseModel):
    start: datetime
    end: datetime | None
    reason: str
    business_seconds: float


class TargetExplanation(BaseModel):
    """How one deadline came about: the calendar, the hours counted and the pauses."""

    kind: TargetKind
    calendar: str
    calendar_rule: str
    started_at: datetime
    within_seconds: float
    pauses: list[PauseExplanation]
    paused_seconds: float
    deadline: datetime | None
    deadline_local: datetime | None
    counted_spans: list[tuple[datetime, datetime]] = Field(
        description="Working spans (local time) from the opening to the deadline or now."
    )
    summary: str


class TicketExplanation(BaseModel):
    ticket_id: str
    priority: str
    channel: str
    agreement_version: int
    agreement_id: str = DEFAULT_AGREEMENT_ID
    agreement_rule: str | None = Field(None, description="Which rule picked the agreement.")
    measured: bool = True
    unmeasured_reason: str | None = None
    targets: list[TargetExplanation]
    as_of: datetime


class TicketView(BaseModel):
    """A ticket's live state, as queries, updates and the API answer it."""

    ticket_id: str
    workflow_id: str
    customer: str
    subject: str
    description: str
    channel: Channel
    requester_email: str
    priority: Priority
    status: TicketStatus
    tier: Tier
    highest_tier: Tier
    assignee: str | None
    acknowledged_by: str | None
    paged: list[str] = Field(description="Emails of the contacts of the current page.")
    service: str | None = None
    tags: list[str] = Field(default_factory=list)
    agreement_id: str = DEFAULT_AGREEMENT_ID
    agreement_rule: str | None = Field(None, description="Which rule picked the agreement.")
    measured: bool = Field(True, description="False: out of scope, clocks not measured.")
    unmeasured_reason: str | None = None
    agreement_version: int
    opened_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    breached: bool
    targets: list[TargetView]
    events: list[TicketEvent]
    as_of: datetime


class Wait(BaseModel):
    """A span the ticket waited: on the customer or a third party, or resolved until reopened.
    The what-if replay stops a version's clocks in it by that version's pause rules."""

    start: AwareDatetime
    end: AwareDatetime
    status: Literal["waiting_on_customer", "waiting_on_third_party", "resolved"]
    party: str | None = None


class PriorityChange(BaseModel):
    at: AwareDatetime
    old: Priority
    new: Priority


class TicketFacts(BaseModel):
    """What reporting keeps of a ticket, written when it resolves, closes, breaches a target
    and reopens (so the row is the ticket as it is now)."""

    ticket_id: str
    customer: str
    priority: Priority
    channel: Channel
    agreement_version: int
    agreement_id: str = DEFAULT_AGREEMENT_ID
    measured: bool = Field(True, description="False: counts in no compliance figure.")
    opened_at: datetime
    acknowledged_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_target_seconds: float
    resolution_target_seconds: float
    first_response_breached: bool
    resolution_breached: bool
    highest_tier: Tier
    escalations: int
    reopen_count: int
    status: TicketStatus
    # What reports need beyond the above. Defaults keep payloads written before them parsing.
    paused_seconds: float = Field(
        0, description="Wall-clock seconds the ticket waited on the customer or a third party."
    )
    pauses: int = Field(0, description="How often the ticket was put on hold.")
    repause_gaps_seconds: list[float] = Field(
        default_factory=list,
        description="For each pause that followed a resume: seconds from that resume to it.",
    )
    first_response_seconds: float | None = Field(
        None, description="Business seconds the first-response clock counted until it was met."
    )
    resolution_seconds: float | None = Field(
        None, description="Business seconds the resolution clock counted until it was met."
    )
    acknowledged_seconds: float | None = Field(
        None,
        description="Business seconds from opening to the first acknowledgement, counted like "
        "the first-response clock (its calendar, its pauses excluded).",
    )
    resolved_tier: Tier | None = Field(None, description="The tier it was at when resolved.")
    tier_ack_seconds: dict[Tier, float] = Field(
        default_factory=dict,
        description="Per tier that acknowledged: wall-clock seconds from its first page to its "
        "first acknowledgement.",
    )
    waits: list[Wait] = Field(
        default_factory=list, description="Closed waiting spans, for the amendment what-if."
    )
    priority_changes: list[PriorityChange] = Field(
        default_factory=list, description="Each priority change, for the amendment what-if."
    )


class TicketOutcome(BaseModel):
    """What the workflow returns when the ticket closes."""

    facts: TicketFacts


COMMANDS: dict[str, type[Command]] = {
    "assign": Assign,
    "acknowledge": Acknowledge,
    "respond": Respond,
    "resolve": Resolve,
    "reopen": Reopen,
    "change_priority": ChangePriority,
    "escalate": Escalate,
    "comment": AddComment,
    "pause": Pause,
    "resume": Resume,
    "customer_message": CustomerMessage,
    "reply": Reply,
}
"""Each command's name (the workflow update's name and the API path segment) and argument model."""

ADOPT_TERMS_UPDATE = "adopt_terms"
STATE_QUERY = "state"
EXPLAIN_QUERY = "explain"
SNAPSHOT_UPDATE = "snapshot"
