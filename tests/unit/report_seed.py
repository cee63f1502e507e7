"""A seeded set of ticket facts whose report figures are worked out by hand in the tests.

Period under report: [2026-11-02, 2026-11-16) UTC, the ISO weeks 2026-W45 and 2026-W46.
B is Monday 2026-11-02 09:00 UTC. Minutes and hours are after each ticket's opening.

id: opened, priority, channel, customer; ack / first response / resolved after opening; status.

- T1: B, P1 email ACME; 5m / 10m / 1h; closed. The agent acknowledged in 5m.
- T2: B+1h, P1 phone ACME; 20m / 30m (breached) / 3h (breached); closed. Climbed to
  management (3 escalations); management acknowledged 5m after its page.
- T3: B+1d, P2 chat Globex; 10m / 15m / 2h; closed. Reopened once; 2 pauses, 1h waiting of
  its 2h; re-paused 2m after a resume.
- T4: B+2d, P2 email Globex; 30m / 40m (breached) / 10h; resolved. Team lead (1 escalation)
  acknowledged 10m after its page; waited 8h of its 10h.
- T5: B+7d, P3 portal Initech; 1h / 1h / 5h; closed. 2 pauses, 10m waiting; re-paused 15m
  after a resume.
- T6: B+8d, P1 phone Initech; 2m / 5m / -; acknowledged: reopened, not resolved again yet.
- T7: B-1d, P1 email ACME; 5m / 5m / 30m; closed. The week (and the period) before.
- T8: 2026-11-16 00:00, P1 email ACME; 5m / 5m / 30m; closed. At the period's end: outside.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from activities.agreement_store import add_version
from activities.facts import upsert_facts
from slaflow.agreement import Agreement
from slaflow.reports import FactRow
from slaflow.tickets import TicketFacts, TicketStatus
from slaflow.tiers import Tier
from tests.factories import make_agreement

B = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 11, 2, tzinfo=UTC)
END = datetime(2026, 11, 16, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def row(
    ticket_id: str,
    opened: datetime,
    *,
    ack: timedelta | None,
    response: timedelta | None,
    resolved: timedelta | None,
    **values: Any,
) -> FactRow:
    status = values.pop("status", TicketStatus.CLOSED)
    return FactRow(
        ticket_id=ticket_id,
        opened_at=opened,
        acknowledged_at=opened + ack if ack is not None else None,
        first_response_at=opened + response if response is not None else None,
        resolved_at=opened + resolved if resolved is not None else None,
        closed_at=opened + resolved + D if resolved and status is TicketStatus.CLOSED else None,
        status=status,
        **values,
    )


def seeded_rows() -> list[FactRow]:
    return [
        row(
            "T1",
            B,
            ack=5 * M,
            response=10 * M,
            resolved=H,
            priority="P1",
            channel="email",
            customer="ACME",
            resolved_tier=Tier.AGENT,
            tier_ack_seconds={Tier.AGENT: 300},
        ),
        row(
            "T2",
            B + H,
            ack=20 * M,
            response=30 * M,
            resolved=3 * H,
            priority="P1",
            channel="phone",
            customer="ACME",
            first_response_breached=True,
            resolution_breached=True,
            highest_tier=Tier.MANAGEMENT,
            resolved_tier=Tier.MANAGEMENT,
            escalations=3,
            tier_ack_seconds={Tier.MANAGEMENT: 300},
        ),
        row(
            "T3",
            B + D,
            ack=10 * M,
            response=15 * M,
            resolved=2 * H,
            priority="P2",
            channel="chat",
            customer="Globex",
            reopen_count=1,
            resolved_tier=Tier.AGENT,
            pauses=2,
            paused_seconds=3600,
            repause_gaps_seconds=[120],
            tier_ack_seconds={Tier.AGENT: 600},
        ),
        row(
            "T4",
            B + 2 * D,
            ack=30 * M,
            response=40 * M,
            resolved=10 * H,
            status=TicketStatus.RESOLVED,
            priority="P2",
            channel="email",
            customer="Globex",
            first_response_breached=True,
            highest_tier=Tier.TEAM_LEAD,
            resolved_tier=Tier.TEAM_LEAD,
            escalations=1,
            pauses=1,
            paused_seconds=8 * 3600,
            tier_ack_seconds={Tier.TEAM_LEAD: 600},
        ),
        row(
            "T5",
            B + 7 * D,
            ack=H,
            response=H,
            resolved=5 * H,
            priority="P3",
            channel="portal",
            customer="Initech",
            resolved_tier=Tier.AGENT,
            pauses=2,
            paused_seconds=600,
            repause_gaps_seconds=[900],
            tier_ack_seconds={Tier.AGENT: 3600},
        ),
        row(
            "T6",
            B + 8 * D,
            ack=2 * M,
            response=5 * M,
            resolved=None,
            status=TicketStatus.ACKNOWLEDGED,
            priority="P1",
            channel="phone",
            customer="Initech",
            reopen_count=1,
            tier_ack_seconds={Tier.AGENT: 120},
        ),
        row(
            "T7",
            B - D,
            ack=5 * M,
            response=5 * M,
            resolved=30 * M,
            priority="P1",
            channel="email",
            customer="ACME",
            resolved_tier=Tier.AGENT,
            tier_ack_seconds={Tier.AGENT: 300},
        ),
        row(
            "T8",
            END,
            ack=5 * M,
            response=5 * M,
            resolved=30 * M,
            priority="P1",
            channel="email",
            customer="ACME",
            resolved_tier=Tier.AGENT,
        ),
    ]


def seeded_agreement() -> Agreement:
    """Availability 99.9 %; P1 first responses 95 % a month (90 % a week: the stricter wins);
    resolutions of every priority 90 % a month."""
    return make_agreement(
        service_levels=[
            {"priority": "P1", "target": "first_response", "percent": 95, "window": "month"},
            {"priority": "P1", "target": "first_response", "percent": 90, "window": "week"},
            {"target": "resolution", "percent": 90, "window": "month"},
        ]
    )


def as_facts(row: FactRow, version: int = 1) -> TicketFacts:
    """The seeded row as the workflow would have written it (P1 targets, pinning `version`
    unless the row names its own)."""
    return TicketFacts(
        **{**row.model_dump(), "agreement_version": row.agreement_version or version},
        first_response_target_seconds=600,
        resolution_target_seconds=3600,
    )


def store_seeded(engine: Engine) -> None:
    """The seeded facts in `ticket_facts`, and the seeded agreement as the next version (in
    force from 2026-01-01, so for the whole seeded period); the tickets pin that version."""
    stored = add_version(
        engine, seeded_agreement(), effective_from=datetime(2026, 1, 1, tzinfo=UTC), source="test"
    )
    for fact_row in seeded_rows():
        upsert_facts(engine, as_facts(fact_row, stored.number))
