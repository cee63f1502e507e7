"""Escalations a proposal would have caused, replayed through the ticket machine; the expected
counts are worked out by hand from tests/factories' agreement (P1: respond 10m, resolve 60m;
ack windows 5m for agent, lead, specialist)."""

from __future__ import annotations

from datetime import timedelta

from slaflow.amendments import ClosedTicket, escalations
from slaflow.tiers import Channel, Priority, Tier
from tests.factories import T0, agreement_doc, make_agreement, make_terms

M = timedelta(minutes=1)


def closed(ticket_id: str, ack: int | None, respond: int, resolve: int) -> ClosedTicket:
    return ClosedTicket(
        ticket_id=ticket_id,
        priority=Priority.P1,
        channel=Channel.EMAIL,
        opened_at=T0,
        acknowledged_at=T0 + ack * M if ack is not None else None,
        first_response_at=T0 + respond * M,
        resolved_at=T0 + resolve * M,
    )


def test_escalations_per_tier_under_current_and_proposed_terms() -> None:
    tickets = [
        # acked at 2m, answered at 8m, resolved at 50m: nothing escalates today; with a 5m
        # response target it breaches at 5m -> team lead (acked 2m later, so no further climb)
        closed("A", ack=2, respond=8, resolve=50),
        # never acknowledged, answered at 3m, resolved at 12m: the agent's window lapses at 5m
        # -> team lead, the lead's at 10m -> specialist; the same under both versions
        closed("B", ack=None, respond=3, resolve=12),
    ]
    current = make_terms()
    doc = agreement_doc()
    doc["objectives"]["P1"]["first_response"]["within"] = "5m"
    proposed = make_terms(make_agreement(**doc))
    now = escalations(tickets, current.agreement, current.calendars)[Priority.P1]
    then = escalations(tickets, proposed.agreement, proposed.calendars)[Priority.P1]
    assert now == {Tier.TEAM_LEAD: 1, Tier.SPECIALIST: 1, Tier.MANAGEMENT: 0}
    assert then == {Tier.TEAM_LEAD: 2, Tier.SPECIALIST: 1, Tier.MANAGEMENT: 0}
