"""Notification activities that record instead of delivering, for workflow tests.

The real email and Slack activities are tested against a real SMTP server and the Slack
stand-in (tests/activities, tests/integration); here the clock and the ladder are under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from slaflow.notifications import (
    EmailNotification,
    EmailReceipt,
    SlackNotification,
    SlackReceipt,
    SlackRootUpdate,
)


@dataclass
class RecordedNotifications:
    emails: list[EmailNotification] = field(default_factory=list)
    slack: list[SlackNotification] = field(default_factory=list)
    root_updates: list[SlackRootUpdate] = field(default_factory=list)
    refuse_channels: set[str] = field(default_factory=set)
    gone_roots: set[str] = field(default_factory=set)
    """Channels whose root messages Slack says were deleted (message_not_found)."""

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailNotification) -> EmailReceipt:
        self.emails.append(request)
        return EmailReceipt(message_id=f"<{request.idempotency_key}>", recipients=request.to)

    @activity.defn(name="post_slack")
    async def post_slack(self, request: SlackNotification) -> SlackReceipt:
        if request.channel in self.refuse_channels:
            raise ApplicationError(
                f"Slack refused {request.channel}: channel_not_found",
                type="SlackChannelNotFound",
                non_retryable=True,
            )
        self.slack.append(request)
        return SlackReceipt(channel=request.channel, ts=f"{len(self.slack)}.000100")

    @activity.defn(name="update_slack_root")
    async def update_slack_root(self, request: SlackRootUpdate) -> SlackReceipt:
        if request.channel in self.gone_roots:
            raise ApplicationError(
                f"Slack refused updating {request.channel}: message_not_found",
                type="SlackRejected",
                non_retryable=True,
            )
        self.root_updates.append(request)
        return SlackReceipt(channel=request.channel, ts=request.ts)

    def email_kinds(self) -> list[tuple[str, str]]:
        return [(e.notice.kind.value, e.notice.tier.value) for e in self.emails]
