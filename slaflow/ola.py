"""Internal targets (OLAs) per tier: did the tier pick up its pages in time?

Reported apart from the customer's targets and attributed to the tier, so a breach can be
traced to the team that caused it. A tier counts as paged on every ticket that reached it (its
highest tier at or above it); it picked up in time when its first acknowledgement came within
its `pick_up_within` of its first page (wall-clock, as facts keep it). A page never
acknowledged is a miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, Field

from slaflow.agreement import EscalationMatrix
from slaflow.reports import FactRow
from slaflow.tickets import Wait
from slaflow.tiers import Tier


class TierPickUp(BaseModel):
    tier: Tier
    target_seconds: float
    paged: int = Field(description="Tickets that reached the tier.")
    in_time: int
    missed_tickets: list[str] = Field(description="Late or never acknowledged, oldest first.")
    percent: float | None = Field(description="In time of paged; None when none was paged.")


class OlaReport(BaseModel):
    agreement_id: str
    agreement_version: int
    start: AwareDatetime
    end: AwareDatetime
    tiers: list[TierPickUp] = Field(description="Only tiers with a pick_up_within target.")
    third_parties: list[PartyWaits] = Field(
        default_factory=list, description="Waits on each named third party against its target."
    )


class PartyWaits(BaseModel):
    """Time spent waiting on one third party, against that party's own target."""

    party: str
    target_seconds: float | None = Field(description="From `third_parties`; None: none set.")
    waits: int
    waited_seconds: float = Field(description="Wall-clock, all waits together.")
    over_target_tickets: list[str] = Field(description="Tickets with a wait over the target.")


def third_party_waits(
    waits: Iterable[tuple[str, Wait]], targets: dict[str, timedelta]
) -> list[PartyWaits]:
    """Per named party (those with a target first, then any other named in a wait): how
    often and how long tickets waited on it, and which waited longer than its target."""
    named = [(ticket, w, w.party) for ticket, w in waits if w.party is not None]
    parties = [*targets, *sorted({p for _, _, p in named if p not in targets})]
    result = []
    for party in parties:
        mine = [(ticket, w) for ticket, w, p in named if p == party]
        target = targets.get(party)
        over = [t for t, w in mine if target is not None and w.end - w.start > target]
        result.append(
            PartyWaits(
                party=party,
                target_seconds=target.total_seconds() if target is not None else None,
                waits=len(mine),
                waited_seconds=sum((w.end - w.start).total_seconds() for _, w in mine),
                over_target_tickets=list(dict.fromkeys(over)),
            )
        )
    return result


def pick_up(rows: Iterable[FactRow], matrix: EscalationMatrix) -> list[TierPickUp]:
    """Per tier with a pick-up target, how its pages went."""
    rows = sorted(rows, key=lambda r: (r.opened_at, r.ticket_id))
    result = []
    for policy in matrix.tiers:
        if policy.pick_up_within is None:
            continue
        target = policy.pick_up_within.total_seconds()
        reached = [r for r in rows if r.highest_tier.rank >= policy.tier.rank]
        late = [
            r.ticket_id
            for r in reached
            if r.tier_ack_seconds.get(policy.tier) is None
            or r.tier_ack_seconds[policy.tier] > target
        ]
        in_time = len(reached) - len(late)
        result.append(
            TierPickUp(
                tier=policy.tier,
                target_seconds=target,
                paged=len(reached),
                in_time=in_time,
                missed_tickets=late,
                percent=round(100 * in_time / len(reached), 2) if reached else None,
            )
        )
    return result
