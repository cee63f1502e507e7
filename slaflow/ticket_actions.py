"""What a person may do to a ticket now, and what to tell them after they acknowledged it.

The ticket page shows only the actions its workflow would accept (the workflow's validators
still decide: this only spares people buttons that can only be refused), and after an
acknowledgement it says plainly that acknowledging is not responding: the first-response
clock keeps running until someone records the response.
"""

from __future__ import annotations

from datetime import datetime

from slaflow.roles import Role
from slaflow.tickets import TargetKind, TicketStatus, TicketView
from slaflow.tiers import TIER_ORDER
from slaflow.time_left import describe_time_left

ACTION_ROLE = Role.AGENT
"""Every ticket command needs the agent role (managers and admins include it)."""

ACTIONS = (
    "acknowledge",
    "respond",
    "assign",
    "pause",
    "resume",
    "escalate",
    "resolve",
    "reopen",
    "comment",
)
"""The page's actions in the order it shows them (each is a ticket command of the same name)."""


def _first_response_met(view: TicketView) -> bool:
    return any(t.kind is TargetKind.FIRST_RESPONSE and t.met_at is not None for t in view.targets)


def available_actions(view: TicketView, role: Role | None) -> list[str]:
    """The commands `role` may run on the ticket as it is now, in page order."""
    if role is None or not role.includes(ACTION_ROLE) or view.status is TicketStatus.CLOSED:
        return []
    if view.status is TicketStatus.RESOLVED:
        return ["reopen", "comment"]
    waiting = view.status.waiting
    allowed = {
        "acknowledge": view.acknowledged_by is None,
        "respond": not _first_response_met(view),
        "assign": True,
        "pause": not waiting,
        "resume": waiting,
        "escalate": view.tier is not TIER_ORDER[-1],
        "resolve": True,
        "reopen": False,
        "comment": True,
    }
    return [name for name in ACTIONS if allowed[name]]


def first_response_note(view: TicketView, now: datetime) -> str:
    """What an acknowledgement leaves open: the first-response clock, with the time left."""
    target = next((t for t in view.targets if t.kind is TargetKind.FIRST_RESPONSE), None)
    if target is None or target.met_at is not None:
        return "The first response is already recorded."
    if target.status == "paused" or target.deadline is None:
        return (
            "Acknowledging is not responding: the first-response clock is paused, and starts "
            "again on resume. Record the response with Responded once you have replied."
        )
    left = describe_time_left((target.deadline - now).total_seconds())
    return (
        "Acknowledging is not responding: the first-response clock still runs "
        f"({left}). Record the response with Responded once you have replied to the customer."
    )
