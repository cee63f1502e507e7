"""Customers, their agreements and the rules that pick a ticket's agreement at intake.

A customer (an organisation) has one or more agreements; an optional default agreement covers
customers without one. Within a customer, each agreement's rules are ordered conditions on what
the intake carries (service, channel, tags); the first matching rule wins. Two agreements of one
customer must never both match one ticket, so the choice never depends on file order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slaflow.tiers import Channel

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
"""Customer and agreement ids: lower-case letters, digits and inner hyphens, at most 64."""
DEFAULT_AGREEMENT_ID = "default"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _fold(values: list[str]) -> list[str]:
    return [v.strip().casefold() for v in values]


class Customer(_Strict):
    id: str = Field(pattern=SLUG_PATTERN, description="Slug naming the customer in tickets.")
    name: str = Field(min_length=1, max_length=200)


class Rule(_Strict):
    """One condition: every list given must match (a service of `services`, a channel of
    `channels`, all of `tags`); an empty list matches anything."""

    name: str = Field("", max_length=200)
    services: list[str] = Field(default_factory=list, max_length=100)
    channels: list[Channel] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=50)

    def matches(self, service: str | None, channel: Channel, tags: list[str]) -> bool:
        if self.services and (service is None or service.strip().casefold() not in self._svc):
            return False
        if self.channels and channel not in self.channels:
            return False
        return set(_fold(self.tags)) <= set(_fold(tags))

    @property
    def _svc(self) -> set[str]:
        return set(_fold(self.services))

    def describe(self, index: int) -> str:
        label = f"rule {index + 1}" + (f" ({self.name})" if self.name else "")
        parts = [
            f"{name} {', '.join(values)}"
            for name, values in (
                ("service", self.services),
                ("channel", [c.value for c in self.channels]),
                ("tags", self.tags),
            )
            if values
        ]
        return label + (": " + "; ".join(parts) if parts else ": any ticket")


def rules_overlap(a: Rule, b: Rule) -> bool:
    """Whether one ticket could match both rules. Tags never separate two rules (a ticket may
    carry both rules' tags), so only services and channels can."""
    services = not a.services or not b.services or bool(a._svc & b._svc)
    channels = not a.channels or not b.channels or bool(set(a.channels) & set(b.channels))
    return services and channels


class AgreementHeader(_Strict):
    """Who an agreement is with and which of their tickets it covers."""

    id: str = Field(pattern=SLUG_PATTERN)
    customer: Customer | None = Field(None, description="Unset for the default agreement.")
    default: bool = Field(False, description="Covers customers without an agreement of their own.")
    rules: list[Rule] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _customer_or_default(self) -> AgreementHeader:
        if self.default == (self.customer is not None):
            raise ValueError("name either a customer or default: true, not both or neither")
        if self.default and self.rules:
            raise ValueError("rules: the default agreement covers every ticket and has no rules")
        return self

    @property
    def customer_id(self) -> str | None:
        return self.customer.id if self.customer else None

    def first_match(self, service: str | None, channel: Channel, tags: list[str]) -> str | None:
        """The description of the first rule that matches, else None; no rules match all."""
        if not self.rules:
            return "the customer's agreement (no conditions)"
        for i, rule in enumerate(self.rules):
            if rule.matches(service, channel, tags):
                return rule.describe(i)
        return None


DEFAULT_HEADER = AgreementHeader(id=DEFAULT_AGREEMENT_ID, default=True)
"""What an agreement file without a header is: today's single file, the default agreement."""


class AgreementSelection(BaseModel):
    """Which agreement a ticket got at intake, and why; goes into the ticket's history."""

    agreement_id: str
    customer_id: str | None = Field(None, description="None: the default agreement applied.")
    rule: str = Field(description="Which rule matched, in words.")


class UnknownCustomerError(LookupError):
    """No agreement covers the ticket's customer and there is no default agreement."""

    def __init__(self, customer: str, detail: str) -> None:
        self.customer = customer
        super().__init__(detail)


def select_agreement(
    headers: list[AgreementHeader],
    customer: str,
    service: str | None,
    channel: Channel,
    tags: list[str],
) -> AgreementSelection:
    """The customer's agreement whose rules match first, else the default agreement."""
    own = [h for h in headers if h.customer_id == customer]
    for header in own:
        rule = header.first_match(service, channel, tags)
        if rule is not None:
            return AgreementSelection(agreement_id=header.id, customer_id=customer, rule=rule)
    default = next((h for h in headers if h.default), None)
    if default is not None:
        why = "no rule of the customer's agreements matched" if own else "customer has none"
        return AgreementSelection(
            agreement_id=default.id, customer_id=None, rule=f"default agreement ({why})"
        )
    if own:
        detail = f"customer {customer!r}: no rule of its agreements matches this ticket"
    else:
        detail = f"customer {customer!r} has no agreement and there is no default agreement"
    raise UnknownCustomerError(customer, detail)


def set_problems(headers: list[AgreementHeader]) -> list[tuple[str, str, str]]:
    """What is wrong with a set of agreements taken together, as (agreement id, field,
    message): duplicate ids, two defaults, one customer under two names, overlapping rules."""
    problems: list[tuple[str, str, str]] = []
    seen: dict[str, AgreementHeader] = {}
    names: dict[str, str] = {}
    for header in headers:
        if header.id in seen:
            problems.append((header.id, "agreement.id", f"{header.id!r} is used twice"))
        seen[header.id] = header
        if header.customer is not None:
            known = names.setdefault(header.customer.id, header.customer.name)
            if known != header.customer.name:
                problems.append(
                    (
                        header.id,
                        "agreement.customer.name",
                        f"customer {header.customer.id!r} is also named {known!r}",
                    )
                )
    defaults = [h.id for h in headers if h.default]
    if len(defaults) > 1:
        problems.append((defaults[1], "agreement.default", "two default agreements"))
    problems += _overlaps(headers)
    return problems


def _overlaps(headers: list[AgreementHeader]) -> list[tuple[str, str, str]]:
    problems: list[tuple[str, str, str]] = []
    for i, a in enumerate(headers):
        for b in headers[i + 1 :]:
            if a.customer_id is None or a.customer_id != b.customer_id:
                continue
            rules_a = a.rules or [Rule()]
            rules_b = b.rules or [Rule()]
            for ia, ra in enumerate(rules_a):
                for ib, rb in enumerate(rules_b):
                    if rules_overlap(ra, rb):
                        problems.append(
                            (
                                b.id,
                                f"agreement.rules.{ib}" if b.rules else "agreement.rules",
                                f"overlaps {a.id!r} rule {ia + 1} for customer "
                                f"{a.customer_id!r}: one ticket could match both "
                                "(separate them by service or channel)",
                            )
                        )
    return problems


def unknown_services(header: AgreementHeader, scope: list[str]) -> list[tuple[str, str]]:
    """Rule services not in the agreement's scope (when it declares one), as (field, message)."""
    if not scope:
        return []
    known = set(_fold(scope))
    return [
        (f"agreement.rules.{i}.services", f"unknown service {svc!r}: not in the scope")
        for i, rule in enumerate(header.rules)
        for svc in rule.services
        if svc.strip().casefold() not in known
    ]


def unmeasured_reason(scope: list[str], exclusions: list[str], service: str | None) -> str | None:
    """Why a ticket's service is not measured under an agreement, or None if it is."""
    if service is None:
        return None
    folded = service.strip().casefold()
    if folded in set(_fold(exclusions)):
        return f"service {service!r} is excluded by the agreement"
    if scope and folded not in set(_fold(scope)):
        return f"service {service!r} is not in the agreement's scope"
    return None
