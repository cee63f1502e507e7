"""The four tiers of the escalation ladder and the vocabularies tickets are described in."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """SFIA levels 1-3 are the agent, 4 the team lead, the specialist, 5-6 management."""

    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    SPECIALIST = "specialist"
    MANAGEMENT = "management"

    @property
    def rank(self) -> int:
        """Position on the ladder, 0 for the agent tier."""
        return TIER_ORDER.index(self)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


TIER_ORDER: tuple[Tier, ...] = (Tier.AGENT, Tier.TEAM_LEAD, Tier.SPECIALIST, Tier.MANAGEMENT)


def next_tier(tier: Tier) -> Tier | None:
    """The tier above, or None at the top of the ladder."""
    rank = tier.rank
    return TIER_ORDER[rank + 1] if rank + 1 < len(TIER_ORDER) else None


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Channel(StrEnum):
    """The support channels of the agreement's 'support channels' section."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"
    PORTAL = "portal"
    WALK_IN = "walk_in"
