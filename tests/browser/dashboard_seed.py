"""Ticket facts for the dashboard's browser test, and the figures they give, worked by hand.

Sixteen closed tickets over the four whole ISO weeks before the current one (W1..W4, each
opened on the Tuesday at 10:00 UTC plus its index in hours), four per priority. The agreement
(`AGREEMENT_YAML`) has P1 10m/1h, P2 20m/2h, P3 40m/4h, P4 80m/8h targets and the objectives
P1 first response >= 95 %, P2 first response >= 90 %, every resolution >= 85 % (per month).

    id  week prio channel customer   ack   resolved  FR breach  res breach  highest / resolved tier
    A1  W1   P1   phone   Northwind  4m    50m       -          -           agent
    A2  W2   P1   phone   Northwind  12m   80m       yes        yes         team_lead / team_lead
    A3  W3   P1   chat    Contoso    6m    45m       -          -           agent
    A4  W4   P1   phone   Contoso    25m   3h        yes        yes         specialist / specialist
    B1  W1   P2   email   Fabrikam   15m   110m      -          -           agent
    B2  W2   P2   email   Fabrikam   10m   1.5h      -          -           agent
    B3  W3   P2   chat    Northwind  35m   100m      yes        -           team_lead / team_lead
    B4  W4   P2   portal  Contoso    8m    3h        -          yes         management / management
    C1  W1   P3   email   Fabrikam   30m   220m      -          -           agent
    C2  W2   P3   portal  Contoso    20m   3h        -          -           agent
    C3  W3   P3   email   Northwind  35m   3.5h      -          -           agent (reopened once)
    C4  W4   P3   email   Fabrikam   25m   5h        -          yes         agent
    D1  W1   P4   email   Contoso    50m   6h        -          -           agent
    D2  W2   P4   portal  Northwind  50m   6h        -          -           agent
    D3  W3   P4   chat    Fabrikam   50m   6h        -          -           agent
    D4  W4   P4   email   Contoso    50m   6h        -          -           agent

Compliance (met / measured) over the four weeks:
- by priority, first response: P1 2/4 = 50 %, P2 3/4 = 75 %, P3 4/4, P4 4/4 = 100 %;
  resolution: P1 2/4 = 50 %, P2 3/4 = 75 %, P3 3/4 = 75 %, P4 4/4 = 100 %.
  Objectives: first response 95, 90, none, none; resolution 85 for every priority.
- by channel (phone A1 A2 A4; email B1 B2 C1 C3 C4 D1 D4; chat A3 B3 D3; portal B4 C2 D2):
  first response 1/3, 7/7, 2/3, 3/3; resolution 1/3, 6/7, 3/3, 2/3.
- week W4 alone, by channel (phone A4; email C4 D4; portal B4): first response 0/1, 2/2, 1/1;
  resolution 0/1, 1/2, 0/1.
- totals: first response 13/16, resolution 12/16.
MTTA of P1 per week, in minutes: 4, 12, 6, 25.
Escalation funnel: reached agent 16, team lead 4 (A2 A4 B3 B4), specialist 2 (A4 B4),
management 1 (B4); resolved there 12, 2, 1, 1.
Deviations by priority (no tickets in the period before, so none "dropped"): P1 first
response and resolution, P2 first response and resolution, P3 resolution: five.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from activities.facts import upsert_facts
from slaflow.agreement_file import dump_agreement
from slaflow.tickets import TicketFacts, TicketStatus
from slaflow.tiers import Channel, Priority, Tier
from tests.factories import agreement_doc, make_agreement

M = timedelta(minutes=1)
H = timedelta(hours=1)
TARGETS = {  # (first response, resolution) per priority, as in tests/factories.py
    "P1": (10 * M, 60 * M),
    "P2": (20 * M, 120 * M),
    "P3": (40 * M, 240 * M),
    "P4": (80 * M, 480 * M),
}

# id, week (1..4), priority, channel, customer, ack, resolved, FR breached, res breached,
# highest tier, escalations, reopen count
ROWS: list[tuple[str, int, str, str, str, timedelta, timedelta, bool, bool, Tier, int, int]] = [
    ("A1", 1, "P1", "phone", "Northwind", 4 * M, 50 * M, False, False, Tier.AGENT, 0, 0),
    ("A2", 2, "P1", "phone", "Northwind", 12 * M, 80 * M, True, True, Tier.TEAM_LEAD, 1, 0),
    ("A3", 3, "P1", "chat", "Contoso", 6 * M, 45 * M, False, False, Tier.AGENT, 0, 0),
    ("A4", 4, "P1", "phone", "Contoso", 25 * M, 3 * H, True, True, Tier.SPECIALIST, 2, 0),
    ("B1", 1, "P2", "email", "Fabrikam", 15 * M, 110 * M, False, False, Tier.AGENT, 0, 0),
    ("B2", 2, "P2", "email", "Fabrikam", 10 * M, 90 * M, False, False, Tier.AGENT, 0, 0),
    ("B3", 3, "P2", "chat", "Northwind", 35 * M, 100 * M, True, False, Tier.TEAM_LEAD, 1, 0),
    ("B4", 4, "P2", "portal", "Contoso", 8 * M, 3 * H, False, True, Tier.MANAGEMENT, 3, 0),
    ("C1", 1, "P3", "email", "Fabrikam", 30 * M, 220 * M, False, False, Tier.AGENT, 0, 0),
    ("C2", 2, "P3", "portal", "Contoso", 20 * M, 3 * H, False, False, Tier.AGENT, 0, 0),
    ("C3", 3, "P3", "email", "Northwind", 35 * M, 210 * M, False, False, Tier.AGENT, 0, 1),
    ("C4", 4, "P3", "email", "Fabrikam", 25 * M, 5 * H, False, True, Tier.AGENT, 0, 0),
    ("D1", 1, "P4", "email", "Contoso", 50 * M, 6 * H, False, False, Tier.AGENT, 0, 0),
    ("D2", 2, "P4", "portal", "Northwind", 50 * M, 6 * H, False, False, Tier.AGENT, 0, 0),
    ("D3", 3, "P4", "chat", "Fabrikam", 50 * M, 6 * H, False, False, Tier.AGENT, 0, 0),
    ("D4", 4, "P4", "email", "Contoso", 50 * M, 6 * H, False, False, Tier.AGENT, 0, 0),
]

COMPLIANCE_BY_PRIORITY: dict[str, list[Any]] = {
    "labels": ["P1", "P2", "P3", "P4"],
    "first_response": [50.0, 75.0, 100.0, 100.0],
    "resolution": [50.0, 75.0, 75.0, 100.0],
    "first_response_objective": [95.0, 90.0, None, None],
    "resolution_objective": [85.0, 85.0, 85.0, 85.0],
}
COMPLIANCE_BY_CHANNEL: dict[str, list[Any]] = {
    "labels": ["phone", "email", "chat", "portal"],
    "first_response": [33.3, 100.0, 66.7, 100.0],
    "resolution": [33.3, 85.7, 100.0, 66.7],
}
COMPLIANCE_BY_CHANNEL_LAST_WEEK: dict[str, list[Any]] = {
    "labels": ["phone", "email", "portal"],
    "first_response": [0.0, 100.0, 100.0],
    "resolution": [0.0, 50.0, 0.0],
}
P1_MTTA_MINUTES = [4.0, 12.0, 6.0, 25.0]
FUNNEL_REACHED = [16, 4, 2, 1]
FUNNEL_RESOLVED = [12, 2, 1, 1]
DEVIATIONS = 5


def agreement_yaml() -> str:
    """The test agreement with service-level objectives beside its targets."""
    doc = agreement_doc(
        service_levels=[
            {"priority": "P1", "target": "first_response", "percent": 95, "window": "month"},
            {"priority": "P2", "target": "first_response", "percent": 90, "window": "month"},
            {"target": "resolution", "percent": 85, "window": "month"},
        ]
    )
    return dump_agreement(make_agreement(**doc))


def first_week(today: date) -> date:
    """Monday of W1: four weeks before the current ISO week's Monday."""
    return today - timedelta(days=today.weekday() + 28)


def period(today: date) -> tuple[date, date]:
    """The dashboard's first and last day (inclusive) covering W1..W4."""
    start = first_week(today)
    return start, start + timedelta(days=27)


def seed(engine: Engine, today: date) -> list[str]:
    """Write the sixteen tickets' facts through the production upsert; their ids back."""
    monday = datetime.combine(first_week(today), datetime.min.time(), tzinfo=UTC)
    ids = []
    for index, row in enumerate(ROWS):
        ticket_id, week, priority, channel, customer, ack, resolved = row[:7]
        fr_breached, res_breached, tier, escalations, reopens = row[7:]
        opened = monday + timedelta(weeks=week - 1, days=1, hours=10 + index % 4)
        first_response, resolution = TARGETS[priority]
        climbed = [t for t in Tier if t.rank <= tier.rank]
        upsert_facts(
            engine,
            TicketFacts(
                ticket_id=f"SEED-{ticket_id}",
                customer=customer,
                priority=Priority(priority),
                channel=Channel(channel),
                agreement_version=1,
                opened_at=opened,
                acknowledged_at=opened + ack,
                first_response_at=opened + ack + M,
                resolved_at=opened + resolved,
                closed_at=opened + resolved + timedelta(days=1),
                first_response_target_seconds=first_response.total_seconds(),
                resolution_target_seconds=resolution.total_seconds(),
                first_response_breached=fr_breached,
                resolution_breached=res_breached,
                highest_tier=tier,
                escalations=escalations,
                reopen_count=reopens,
                status=TicketStatus.CLOSED,
                resolved_tier=tier,
                tier_ack_seconds={
                    t: (ack if t is Tier.AGENT else 5 * M).total_seconds() for t in climbed
                },
            ),
        )
        ids.append(f"SEED-{ticket_id}")
    return ids
