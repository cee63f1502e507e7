"""Escalation-ladder rules: who a tier pages, and when an unacknowledged page lapses."""

from __future__ import annotations

import zlib
from datetime import datetime
from email.utils import parseaddr

from slaflow.agreement import Contact, EscalationMatrix, TierPolicy
from slaflow.business_time import next_working_instant
from slaflow.calendars import ResolvedCalendar
from slaflow.tickets import Page
from slaflow.tiers import TIER_ORDER, Tier


def is_working(person: Contact, at: datetime, calendars: dict[str, ResolvedCalendar]) -> bool:
    """Whether a person is within their working hours; no calendar means always reachable."""
    if person.calendar is None:
        return True
    return next_working_instant(calendars[person.calendar], at) == at


def contacts_to_page(
    policy: TierPolicy,
    ticket_id: str,
    repeat: int,
    at: datetime | None = None,
    calendars: dict[str, ResolvedCalendar] | None = None,
) -> list[Contact]:
    """Who a page goes to: only contacts within their working hours (never someone asleep
    while a colleague is on shift); if nobody is, the tier's after-hours contact, else
    everyone rather than no one. Then everyone, or one in turn: tickets spread over the tier
    by a stable hash of their id (crc32, not Python's salted hash, so replay agrees), and
    each re-page moves one on."""
    candidates = list(policy.contacts)
    if at is not None and calendars is not None:
        working = [c for c in candidates if is_working(c, at, calendars)]
        if working:
            candidates = working
        elif policy.after_hours is not None:
            return [policy.after_hours]
    if policy.paging == "all":
        return candidates
    start = zlib.crc32(ticket_id.encode())
    return [candidates[(start + repeat) % len(candidates)]]


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
    name, address = parseaddr(owner)  # "Lea Lead <lea@example.com>" as Slack actors are named
    wanted = {owner.strip().lower(), name.lower(), address.lower()} - {""}
    return [
        contact
        for policy in matrix.tiers
        for contact in policy.contacts
        if wanted & {contact.email.lower(), contact.name.lower()}
    ]
