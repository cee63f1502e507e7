"""What the ticket workflow hands to the notification activities, and what they answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from slaflow.agreement import Contact
from slaflow.tickets import Notice, TargetKind, TicketView
from slaflow.tiers import Tier


class EmailNotification(BaseModel):
    """One email about one notice; `idempotency_key` makes a retried send a no-op."""

    idempotency_key: str = Field(description="<workflow id>/<notice number>/email")
    to: list[str] = Field(min_length=1)
    notice: Notice
    ticket: TicketView
    thread_root_id: str = Field(description="Message-ID of the ticket's mail thread.")


class EmailReceipt(BaseModel):
    message_id: str
    recipients: list[str]
    duplicate: bool = Field(False, description="True when an earlier attempt had already sent it.")


class SlackNotification(BaseModel):
    """One Slack post about one notice, in a tier's channel (a thread reply when thread_ts)."""

    idempotency_key: str = Field(description="<workflow id>/<notice number>/slack/<channel>")
    channel: str
    thread_ts: str | None = None
    notice: Notice
    ticket: TicketView


class SlackReceipt(BaseModel):
    channel: str
    ts: str
    duplicate: bool = False


class SlackRootUpdate(BaseModel):
    """The ticket as it is now, rewritten into one tier's root Slack message (chat.update).

    Each tier the ticket reached has one root message (its first post, which starts that tier's
    thread); every state change rewrites every root, so each channel shows the truth."""

    idempotency_key: str = Field(description="<workflow id>/<notice number>/slack-root/<tier>")
    channel: str = Field(description="The channel id Slack answered when the root was posted.")
    ts: str = Field(description="The root message's ts.")
    tier: Tier = Field(description="The tier whose thread this root message starts.")
    ticket: TicketView = Field(description="The live state; events holds the latest few only.")
    paged: list[Contact] = Field(
        default_factory=list, description="Who the current page went to (mentioned until acked)."
    )
    warnings_sent: dict[TargetKind, list[int]] = Field(
        default_factory=dict, description="Per target, the warning percentages already sent."
    )


def mail_thread_root(workflow_id: str, domain: str = "slaflow") -> str:
    """Every mail about a ticket refers to this Message-ID, so mail clients keep one thread."""
    return f"<{workflow_id}@{domain}>"
