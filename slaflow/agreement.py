"""The service-level agreement: one versioned document that every ticket pins its terms from."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slaflow.calendars import ALWAYS_OPEN, CalendarSpec
from slaflow.durations import Duration
from slaflow.tiers import TIER_ORDER, Channel, Priority, Tier

MAX_REPEATS = 9
"""Our bound on re-paging the top tier, PagerDuty's as well: past it, a human process takes over."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreBreachWarning(_Strict):
    """At `at_percent` of a target's time, tell `notify` that the target is running out."""

    at_percent: int = Field(ge=1, le=99)
    notify: Tier


class TargetSpec(_Strict):
    within: Duration
    warnings: list[PreBreachWarning] = Field(default_factory=list)

    @field_validator("within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration such as '4h'")
        return value

    @field_validator("warnings")
    @classmethod
    def _distinct(cls, value: list[PreBreachWarning]) -> list[PreBreachWarning]:
        percents = [w.at_percent for w in value]
        if len(set(percents)) != len(percents):
            raise ValueError("two warnings at the same percentage")
        return sorted(value, key=lambda w: w.at_percent)


class Objective(_Strict):
    """Measurable targets for one priority."""

    first_response: TargetSpec
    resolution: TargetSpec
    calendar: str | None = Field(
        None,
        description="Calendar whose hours count; unset means the ticket's channel's hours.",
    )
    consequence: str = Field("", description="What a miss costs, e.g. a service credit.")
    next_reply: TargetSpec | None = Field(
        None,
        description="Each customer message waiting for an answer must get the agent's reply "
        "within this (Zendesk's next reply time); unset: not measured.",
    )
    periodic_update: TargetSpec | None = Field(
        None,
        description="After the first response, the customer hears from support at least this "
        "often until the ticket is resolved; unset: not measured.",
    )

    def spec(self, kind: str) -> TargetSpec | None:
        """The target of one clock kind (first_response, resolution, next_reply,
        periodic_update); None when this objective does not measure it."""
        spec: TargetSpec | None = getattr(self, kind)
        return spec


class Contact(_Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    slack_user_id: str | None = None
    calendar: str | None = Field(
        None, description="The person's working hours; unset means always reachable."
    )


class TierPolicy(_Strict):
    """Who a tier is, how it is paged, and how long it has to acknowledge."""

    tier: Tier
    contacts: list[Contact] = Field(min_length=1)
    paging: Literal["all", "round_robin"] = "all"
    slack_channel: str = Field(min_length=1)
    ack_window: Duration
    after_hours: Contact | None = Field(
        None, description="Paged when none of the contacts is within working hours."
    )
    pick_up_within: Duration | None = Field(
        None,
        description="Internal target (OLA): acknowledge a page of this tier within this; "
        "reported apart from the customer's targets, attributed to the tier.",
    )

    @field_validator("pick_up_within")
    @classmethod
    def _positive_pick_up(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be a positive duration such as '30m'")
        return value

    @field_validator("ack_window")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration such as '15m'")
        return value


class EscalationMatrix(_Strict):
    """The four tiers in ladder order and what happens while nobody acknowledges."""

    tiers: list[TierPolicy]
    repeat_limit: int = Field(
        3, ge=0, le=MAX_REPEATS, description="Re-pages of the top tier while unacknowledged."
    )
    repeat_every: Duration | None = Field(
        None, description="Gap between re-pages of the top tier; default its ack window."
    )
    reminder_every: Duration = Field(
        timedelta(hours=1), description="Reminder to the owner of an acknowledged open ticket."
    )

    @field_validator("tiers")
    @classmethod
    def _ladder_order(cls, value: list[TierPolicy]) -> list[TierPolicy]:
        if [p.tier for p in value] != list(TIER_ORDER):
            raise ValueError(
                "must list exactly the four tiers in order: "
                + ", ".join(t.value for t in TIER_ORDER)
            )
        return value

    def policy(self, tier: Tier) -> TierPolicy:
        return self.tiers[tier.rank]

    @property
    def repeat_interval(self) -> timedelta:
        return self.repeat_every or self.policy(Tier.MANAGEMENT).ack_window

    def find_contact(
        self, *, email: str | None = None, slack_user_id: str | None = None
    ) -> tuple[Tier, Contact] | None:
        """The first tier and contact matching an email or Slack user id."""
        for policy in self.tiers:
            for contact in policy.contacts:
                if email and contact.email.lower() == email.lower():
                    return policy.tier, contact
                if slack_user_id and contact.slack_user_id == slack_user_id:
                    return policy.tier, contact
        return None


PauseStatus = Literal["waiting_on_customer", "waiting_on_third_party"]
TargetName = Literal["first_response", "resolution"]
ClockName = Literal["first_response", "resolution", "next_reply", "periodic_update"]
"""Every clock a ticket may run; a pause rule may stop any of them."""


def _default_pauses() -> dict[PauseStatus, list[ClockName]]:
    """Waiting stops the resolution clock; the first response is owed regardless."""
    return {"waiting_on_customer": ["resolution"], "waiting_on_third_party": ["resolution"]}


class ServiceLevelObjective(_Strict):
    """A compliance promise over a calendar window, e.g. "95 % of P1 first responses within
    target per calendar month". Its error budget is the share of tickets allowed to miss;
    management is warned once `warn_when_spent` percent of it is gone, while the window can
    still be saved."""

    priority: Priority | None = Field(None, description="Unset means tickets of every priority.")
    target: TargetName
    percent: float = Field(gt=0, lt=100, description="Share of tickets that must meet the target.")
    window: Literal["week", "month"] = "month"
    warn_when_spent: int = Field(
        75,
        ge=1,
        le=100,
        description="Percent of the window's error budget that triggers a warning.",
    )

    @property
    def name(self) -> str:
        scope = self.priority.value if self.priority else "all"
        return f"{scope}-{self.target}-{self.window}"


class CreditRule(_Strict):
    """A service credit owed per missed target, e.g. 5 % of the monthly fee per missed P1
    resolution, capped at 20 % a month. The cap is required: an uncapped credit is a promise
    without an upper bound, which no provider signs knowingly."""

    target: TargetName
    priority: Priority | None = Field(None, description="Unset means tickets of every priority.")
    credit_percent: float = Field(gt=0, le=100, description="Percent of the fee per miss.")
    cap_percent: float = Field(gt=0, le=100, description="The most this rule costs a month.")

    @model_validator(mode="before")
    @classmethod
    def _capped(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("cap_percent") is None:
            raise ValueError(
                "cap_percent is required: the most this credit may cost a month, "
                "in percent of the monthly fee"
            )
        return data

    def applies(self, priority: Priority) -> bool:
        return self.priority is None or self.priority is priority

    def describe(self) -> str:
        scope = f"{self.priority.value} " if self.priority else ""
        what = "first response" if self.target == "first_response" else "resolution"
        return (
            f"{self.credit_percent:g} % service credit per missed {scope}{what}, "
            f"at most {self.cap_percent:g} % a month"
        )


class SupportChannel(_Strict):
    channel: Channel
    hours: str = Field(ALWAYS_OPEN, description="Calendar of the channel's opening hours.")
    description: str = ""


class Party(_Strict):
    """Someone who signs the agreement and its amendments, for the customer or the provider."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="e.g. customer, service owner")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


class Agreement(_Strict):
    """The whole agreement document (the seed's SLA overview, objectives, channels, escalation)."""

    name: str = Field(min_length=1)
    customer: str = ""
    parties: list[Party] = Field(
        default_factory=list,
        description="Who signs amendments of this agreement; empty: anyone named may sign.",
    )
    scope: list[str] = Field(default_factory=list, description="Services covered.")
    exclusions: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    availability_target: float = Field(99.5, gt=0, le=100, description="Percent per month.")
    maintenance_allowance: Duration = Field(
        timedelta(0),
        description="Planned maintenance a month that does not count against availability.",
    )
    objectives: dict[Priority, Objective]
    service_levels: list[ServiceLevelObjective] = Field(
        default_factory=list,
        description="Compliance objectives over a window, tracked live against their error budget.",
    )
    third_parties: dict[str, Duration] = Field(
        default_factory=dict,
        description="Each third party's own target (its underpinning contract) for a wait on it.",
    )
    credits: list[CreditRule] = Field(
        default_factory=list, description="Service credits owed per missed target, capped."
    )
    monthly_fee: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="What credits are a percentage of."
    )
    currency: str = Field("", max_length=3, description="e.g. EUR; shown beside amounts.")
    channels: list[SupportChannel] = Field(min_length=1)
    escalation: EscalationMatrix
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    reopen_window: Duration = Field(
        timedelta(days=7), description="How long a resolved ticket may be reopened before closing."
    )
    pauses: dict[PauseStatus, list[ClockName]] = Field(
        default_factory=lambda: _default_pauses(),
        description="Which targets' clocks stop while a ticket waits in each status.",
    )

    @field_validator("maintenance_allowance")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("objectives")
    @classmethod
    def _every_priority(cls, value: dict[Priority, Objective]) -> dict[Priority, Objective]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"no objective for {', '.join(missing)}")
        return value

    @model_validator(mode="after")
    def _calendars_exist(self) -> Agreement:
        known = {ALWAYS_OPEN, *self.calendars}
        for priority, objective in self.objectives.items():
            if objective.calendar is not None and objective.calendar not in known:
                raise ValueError(
                    f"objectives.{priority.value}.calendar: unknown calendar "
                    f"{objective.calendar!r} (known: {', '.join(sorted(known))})"
                )
        for i, channel in enumerate(self.channels):
            if channel.hours not in known:
                raise ValueError(f"channels.{i}.hours: unknown calendar {channel.hours!r}")
        for policy in self.escalation.tiers:
            people = [*policy.contacts, *([policy.after_hours] if policy.after_hours else [])]
            for person in people:
                if person.calendar is not None and person.calendar not in known:
                    raise ValueError(
                        f"escalation.{policy.tier.value}: contact {person.name!r} names "
                        f"unknown calendar {person.calendar!r}"
                    )
        names = [slo.name for slo in self.service_levels]
        if len(set(names)) != len(names):
            raise ValueError("service_levels: two objectives for the same priority, target, window")
        if ALWAYS_OPEN in self.calendars:
            raise ValueError(f"calendars: {ALWAYS_OPEN!r} is built in and cannot be redefined")
        return self

    def objective(self, priority: Priority) -> Objective:
        return self.objectives[priority]

    def target_calendar(self, priority: Priority, channel: Channel) -> str:
        """The calendar a ticket's targets count in: its priority's, else its channel's hours."""
        named = self.objectives[priority].calendar
        if named is not None:
            return named
        return next((c.hours for c in self.channels if c.channel is channel), ALWAYS_OPEN)

    def calendar_names(self) -> set[str]:
        """Every calendar a ticket or a contact under this agreement may count in."""
        people = [
            person
            for policy in self.escalation.tiers
            for person in [*policy.contacts, *([policy.after_hours] if policy.after_hours else [])]
        ]
        return (
            {ALWAYS_OPEN}
            | {o.calendar for o in self.objectives.values() if o.calendar}
            | {c.hours for c in self.channels}
            | {p.calendar for p in people if p.calendar}
        )
