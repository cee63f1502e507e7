"""People and who acts: the directory's values and the rules that need no database.

A person works on agreements with a role there (agent ... provider signatory). Every command
and signature is made by an `Actor` taken from a credential, never typed by the caller: a
person's own token, browser session, Slack user or signing link acts as that person; an
integration's token (a helpdesk, a form) acts as itself, or for a person it names, and the
record then reads "Lea Lead via helpdesk".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from slaflow.agreement import Agreement
from slaflow.tiers import Tier

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")


class PersonRole(StrEnum):
    """A person's role on one agreement."""

    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    SPECIALIST = "specialist"
    MANAGER = "manager"
    CUSTOMER_SIGNATORY = "customer_signatory"
    PROVIDER_SIGNATORY = "provider_signatory"

    @property
    def signs(self) -> bool:
        return self in (PersonRole.CUSTOMER_SIGNATORY, PersonRole.PROVIDER_SIGNATORY)


TIER_ROLE: dict[Tier, PersonRole] = {
    Tier.AGENT: PersonRole.AGENT,
    Tier.TEAM_LEAD: PersonRole.TEAM_LEAD,
    Tier.SPECIALIST: PersonRole.SPECIALIST,
    Tier.MANAGEMENT: PersonRole.MANAGER,
}

WORKING_ROLES = frozenset(TIER_ROLE.values())
"""Roles that act on an agreement's tickets (signatories only sign)."""


class PeopleInputError(ValueError):
    """Input naming a person that cannot be used; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normal_email(email: str) -> str:
    """The form emails are stored and compared in: trimmed, lower case."""
    text = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(text) or len(text) > 254:
        raise PeopleInputError("email", f"{email!r} is not an email address")
    return text


def parse_person_role(text: str) -> PersonRole:
    try:
        return PersonRole(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        choices = ", ".join(role.value for role in PersonRole)
        raise PeopleInputError("role", f"{text!r} is not a role; choose one of {choices}") from None


def party_role(party_role_text: str) -> PersonRole:
    """An agreement party's free-text role as a signatory role: 'customer...' signs for the
    customer, anyone else for the provider."""
    customer = party_role_text.strip().lower().startswith("customer")
    return PersonRole.CUSTOMER_SIGNATORY if customer else PersonRole.PROVIDER_SIGNATORY


@dataclass(frozen=True)
class SeedPerson:
    """A person an agreement file names, with the role it gives them there."""

    name: str
    email: str
    slack_user_id: str | None
    role: PersonRole


def people_of_agreement(agreement: Agreement) -> list[SeedPerson]:
    """The escalation matrix's contacts and the signing parties, once per (email, role)."""
    found: dict[tuple[str, PersonRole], SeedPerson] = {}
    for policy in agreement.escalation.tiers:
        role = TIER_ROLE[policy.tier]
        contacts = [*policy.contacts, *([policy.after_hours] if policy.after_hours else [])]
        for contact in contacts:
            email = normal_email(contact.email)
            found.setdefault(
                (email, role), SeedPerson(contact.name, email, contact.slack_user_id, role)
            )
    for party in agreement.parties:
        email = normal_email(party.email)
        role = party_role(party.role)
        found.setdefault((email, role), SeedPerson(party.name, email, None, role))
    return list(found.values())


@dataclass(frozen=True)
class Actor:
    """Who a command or signature is by, as the credential says."""

    name: str
    """The person's name, or the integration's when it acts for nobody."""
    method: str
    """token, session, slack, link or cli."""
    credential: str
    """Which credential: a token's name, 'slack:U123', 'link:<id>'."""
    person_id: int | None = None
    email: str | None = None
    via: str | None = None
    """The integration acting for the person, if any."""

    @property
    def display(self) -> str:
        """What the ticket's history records: 'Lea Lead', or 'Lea Lead via helpdesk'."""
        return f"{self.name} via {self.via}" if self.via else self.name

    def on_behalf_of(self, person_id: int, name: str, email: str) -> Actor:
        return Actor(
            name=name,
            method=self.method,
            credential=self.credential,
            person_id=person_id,
            email=email,
            via=self.name,
        )
