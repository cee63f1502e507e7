"""Escalation-ladder rules: who a tier pages, and when an unacknowledged page lapses."""

from __future__ import annotations

import zlib
from datetime import datetime

from slaflow.agreement import Contact, EscalationMatrix, TierPolicy
from slaflow.tickets import Page
from slaflow.tiers import TIER_ORDER, Tier


def contacts_to_page(policy: TierPolicy, ticket_id: str, repeat: int) -> list[Contact]:
    """Everyone, or one contact in turn: tickets spread over the tier by a stable hash of their
    id (crc32, not Python's salted hash, so replay agrees), and each re-page moves one on."""
    if policy.paging == "all":
        return list(policy.contacts)
    start = zlib.crc32(ticket_id.encode())
    return [policy.contacts[(start + repeat) % len(policy.contacts)]]


def page_lapses_at(matrix: EscalationMatrix, page: Page) -> datetime | None:
    """When an unacknowledged page runs out: its tier's ack window, or for the top tier the
    re-page interval. None once acknowledged or after the last permitted re-page."""
    if page.acknowledged_at is not None:
        return None
    if page.tier is Tier.MANAGEMENT:
        if page.repeat >= matrix.repeat_limit:
            return None
        return page.paged_at + matrix.repeat_interval
    return page.paged_at + matrix.policy(page.tier).ack_window


def tiers_below(tier: Tier) -> list[Tier]:
    """Tiers already on the ticket's ladder, kept informed when it climbs."""
    return list(TIER_ORDER[: tier.rank])


def find_owner_contacts(matrix: EscalationMatrix, owner: str | None) -> list[Contact]:
    """The matrix contacts an owner name or email stands for (reminders go to them)."""
    if not owner:
        return []
    wanted = owner.strip().lower()
    return [
        contact
        for policy in matrix.tiers
        for contact in policy.contacts
        if wanted in (contact.email.lower(), contact.name.lower())
    ]
