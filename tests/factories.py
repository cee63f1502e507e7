"""Test data: a compact agreement whose clocks are minutes, and tickets under it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.calendar_resolver import resolve_calendars
from slaflow.agreement import Agreement
from slaflow.agreement_file import AgreementFile
from slaflow.customers import DEFAULT_AGREEMENT_ID, AgreementHeader, AgreementSelection
from slaflow.tickets import PinnedTerms, TicketInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def contacts(tier: str, n: int) -> list[dict[str, str]]:
    return [
        {
            "name": f"{tier}-{i}",
            "email": f"{tier}{i}@example.com",
            "slack_user_id": f"U{tier[:3].upper()}{i}",
        }
        for i in range(1, n + 1)
    ]


def agreement_doc(**overrides: Any) -> dict[str, Any]:
    """P1 on 24x7: respond in 10m (warn agent at 50 %, lead at 80 %), resolve in 60m."""
    doc: dict[str, Any] = {
        "name": "Test agreement",
        "customer": "ACME",
        "availability_target": 99.9,
        "objectives": {
            p: {
                "first_response": {
                    "within": f"{10 * k}m",
                    "warnings": [
                        {"at_percent": 50, "notify": "agent"},
                        {"at_percent": 80, "notify": "team_lead"},
                    ],
                },
                "resolution": {
                    "within": f"{60 * k}m",
                    "warnings": [{"at_percent": 75, "notify": "team_lead"}],
                },
            }
            for k, p in ((1, "P1"), (2, "P2"), (4, "P3"), (8, "P4"))
        },
        "channels": [{"channel": c} for c in ("phone", "email", "chat", "portal")],
        "escalation": {
            "tiers": [
                {
                    "tier": "agent",
                    "contacts": contacts("agent", 2),
                    "paging": "round_robin",
                    "slack_channel": "#agents",
                    "ack_window": "5m",
                },
                {
                    "tier": "team_lead",
                    "contacts": contacts("lead", 1),
                    "slack_channel": "#leads",
                    "ack_window": "5m",
                },
                {
                    "tier": "specialist",
                    "contacts": contacts("spec", 2),
                    "slack_channel": "#specialists",
                    "ack_window": "5m",
                },
                {
                    "tier": "management",
                    "contacts": contacts("mgmt", 2),
                    "paging": "round_robin",
                    "slack_channel": "#management",
                    "ack_window": "10m",
                },
            ],
            "repeat_limit": 2,
            "reminder_every": "15m",
        },
        "reopen_window": "1h",
    }
    doc.update(overrides)
    return doc


def make_agreement(**overrides: Any) -> Agreement:
    return Agreement.model_validate(agreement_doc(**overrides))


def make_terms(agreement: Agreement | None = None, version: int = 1) -> PinnedTerms:
    agreement = agreement or make_agreement()
    calendars = resolve_calendars(agreement.calendars, agreement.calendar_names(), 2025, 2028)
    return PinnedTerms(agreement_version=version, agreement=agreement, calendars=calendars)


def make_ticket(ticket_id: str = "T-1", priority: str = "P1", **overrides: Any) -> TicketInput:
    data: dict[str, Any] = {
        "ticket_id": ticket_id,
        "customer": "ACME",
        "subject": "Checkout fails",
        "description": "HTTP 500 on payment",
        "priority": priority,
        "channel": "email",
        "requester_email": "buyer@acme.example",
    }
    data.update(overrides)
    return TicketInput.model_validate(data)


DEFAULT_SELECTION = AgreementSelection(
    agreement_id=DEFAULT_AGREEMENT_ID, rule="default agreement (customer has none)"
)
"""What intake picks for a customer without an agreement of its own."""


def customer_doc(prefix: str, p1_first_response: str, **overrides: Any) -> dict[str, Any]:
    """The test agreement with its own P1 first-response target, people and Slack channels
    (`<prefix>-agent1@example.com`, `#<prefix>-agents`, ...)."""
    doc = agreement_doc(**overrides)
    doc["objectives"]["P1"]["first_response"]["within"] = p1_first_response
    for policy in doc["escalation"]["tiers"]:
        policy["slack_channel"] = policy["slack_channel"].replace("#", f"#{prefix}-")
        for person in policy["contacts"]:
            person["email"] = f"{prefix}-{person['email']}"
            person["slack_user_id"] = f"{person['slack_user_id']}{prefix.upper()}"
    return doc


def agreement_file(
    agreement_id: str,
    customer: str | None,
    doc: dict[str, Any],
    rules: list[dict[str, Any]] | None = None,
) -> AgreementFile:
    """An agreement file as loaded: for `customer` (its id; name = id title-cased) or default."""
    header: dict[str, Any] = {"id": agreement_id, "rules": rules or []}
    if customer is None:
        header["default"] = True
    else:
        header["customer"] = {"id": customer, "name": customer.title()}
    return AgreementFile(
        source=f"test:{agreement_id}",
        header=AgreementHeader.model_validate(header),
        agreement=Agreement.model_validate(doc),
    )
