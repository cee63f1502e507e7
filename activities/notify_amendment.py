"""Amendment notifications: approval requests, reminders and outcomes, by email and Slack DM.

Reuses the ticket notifications' machinery rather than copying it: the SMTP sending and error
classification of `EmailActivities`, the Slack client and error classification of
`SlackActivities`, and the idempotency receipts (`load_receipt`/`store_receipt`) keyed by the
notice's idempotency key, so a retry after a lost reply sends nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiohttp
import aiosmtplib
from slack_sdk.errors import SlackApiError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import notify_email, notify_slack
from activities.deliveries import deliver_once, store_receipt
from activities.notify_email import EmailActivities, message_id_for
from activities.notify_slack import SlackActivities
from slaflow.amendments import AmendmentView, workflow_id_for
from slaflow.settings import Settings
from slaflow.signing_links import SIGN_PATH, SigningLink, make_token, nonce_for
from workflows.amendment_calls import (
    POST_AMENDMENT_SLACK,
    SEND_AMENDMENT_EMAIL,
    AmendmentEmailReceipt,
    AmendmentNotice,
    AmendmentSlackReceipt,
)

ACTIONS_BLOCK_ID = "slaflow_amendment_actions"
APPROVE_ACTION = "amendment_approve"
REJECT_ACTION = "amendment_reject"

_HEADLINE = {
    "request": "Please review and sign",
    "reminder": "Reminder: your signature is awaited on",
    "outcome": "Outcome of",
}


def amendment_link(settings: Settings, amendment_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/amendments/{amendment_id}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:g} %"


def impact_lines(view: AmendmentView) -> list[str]:
    """The impact report as text: per priority, compliance now -> under the proposal."""
    if view.impact is None:
        return [f"Impact: not available ({view.impact_error or 'not computed yet'})"]
    report = view.impact
    lines = [
        f"Impact on {report.tickets} tickets closed in the last {report.window_days} days "
        f"(version {report.current_version} -> proposal):"
    ]
    for p in report.priorities:
        if not p.tickets:
            continue
        lines.append(
            f"  {p.priority.value} ({p.tickets}): first response "
            f"{_pct(p.first_response.current_percent)} -> {_pct(p.first_response.proposed_percent)}"
            f", resolution {_pct(p.resolution.current_percent)} -> "
            f"{_pct(p.resolution.proposed_percent)}"
        )
    lines.append(f"  ({report.note})")
    return lines


def subject_of(notice: AmendmentNotice) -> str:
    a = notice.amendment
    if notice.kind == "outcome":
        return f"[slaflow] Amendment {a.amendment_id}: {a.status.value}"
    return (
        f"[slaflow] {_HEADLINE[notice.kind]} amendment {a.amendment_id} "
        f"(revision {a.revision}) of agreement version {a.amends_version}"
    )


def body_of(settings: Settings, notice: AmendmentNotice) -> str:
    a = notice.amendment
    lines = [
        f"Hello {notice.to.name},",
        "",
        f"{_HEADLINE[notice.kind]} amendment {a.amendment_id}, revision {a.revision}, "
        f"proposed by {a.proposer} to amend agreement version {a.amends_version}.",
        f"Rationale: {a.rationale}",
        f"Status: {a.status.value}" + (f" ({a.closed_reason})" if a.closed_reason else ""),
        f"Sign-off deadline: {a.deadline.astimezone(UTC):%Y-%m-%d %H:%M UTC}",
        "Effective: "
        + (
            f"{a.effective_from.astimezone(UTC):%Y-%m-%d %H:%M UTC}"
            if a.effective_from
            else "on sign-off"
        ),
        f"Moves open tickets to the new terms: {'yes' if a.moves_open_tickets else 'no'}",
        "",
        *impact_lines(a),
        "",
        "Signatories:",
        *(
            f"  {d.signatory.name} ({d.signatory.role}): {d.decision or 'awaited'}"
            for d in a.signatories
        ),
        "",
        f"Details and decision: {amendment_link(settings, a.amendment_id)}",
        *signing_lines(settings, notice),
    ]
    return "\n".join(lines) + "\n"


def signing_lines(settings: Settings, notice: AmendmentNotice) -> list[str]:
    """For a signatory asked to decide: a one-time link, only theirs, until the deadline."""
    a = notice.amendment
    secret = settings.signing_link_secret
    signs = any(d.signatory.email.lower() == notice.to.email.lower() for d in a.signatories)
    if secret is None or notice.kind == "outcome" or not signs:
        return []
    link = SigningLink(
        amendment_id=a.amendment_id,
        revision=a.revision,
        email=notice.to.email,
        expires=a.deadline,
        nonce=nonce_for(notice.idempotency_key),
    )
    token = make_token(secret.get_secret_value(), link)
    url = f"{settings.public_url.rstrip('/')}{SIGN_PATH}/{a.amendment_id}/{token}"
    return [
        "",
        "Decide without logging in (a link for you alone; it works once, for this revision, "
        "until the deadline; do not forward it):",
        url,
    ]


def render_amendment_email(settings: Settings, notice: AmendmentNotice) -> EmailMessage:
    root = f"<{workflow_id_for(notice.amendment.amendment_id)}@slaflow>"
    message = EmailMessage()
    message["Subject"] = subject_of(notice)
    message["From"] = settings.mail_from
    message["To"] = notice.to.email
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id_for(notice.idempotency_key, settings.mail_from)
    message["In-Reply-To"] = root
    message["References"] = root
    message["X-Slaflow-Amendment"] = notice.amendment.amendment_id
    message.set_content(body_of(settings, notice))
    return message


def render_amendment_slack(
    settings: Settings, notice: AmendmentNotice
) -> tuple[str, list[dict[str, Any]]]:
    """Text fallback and blocks; requests and reminders carry Approve / Reject buttons whose
    value is the amendment id."""
    a = notice.amendment
    text = notify_slack._esc(subject_of(notice))
    body = notify_slack._cut(notify_slack._esc(body_of(settings, notice)), 3000)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
    ]
    if notice.kind != "outcome" and not a.status.closed:
        blocks.append(
            {
                "type": "actions",
                "block_id": ACTIONS_BLOCK_ID,
                "elements": [
                    {
                        "type": "button",
                        "action_id": APPROVE_ACTION,
                        "text": {"type": "plain_text", "text": "Approve"},
                        "style": "primary",
                        "value": a.amendment_id,
                    },
                    {
                        "type": "button",
                        "action_id": REJECT_ACTION,
                        "text": {"type": "plain_text", "text": "Reject"},
                        "style": "danger",
                        "value": a.amendment_id,
                    },
                ],
            }
        )
    return text, blocks


class AmendmentNotifyActivities:
    """Built in worker.py around the ticket notification activities (same clients, settings
    and database engine)."""

    def __init__(self, email: EmailActivities, slack: SlackActivities) -> None:
        self.email = email
        self.slack = slack

    @activity.defn(name=SEND_AMENDMENT_EMAIL)
    async def send_amendment_email(self, notice: AmendmentNotice) -> AmendmentEmailReceipt:
        return await deliver_once(
            self.email.engine,
            notice.idempotency_key,
            lambda stored: AmendmentEmailReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._send_email(notice),
        )

    async def _send_email(self, notice: AmendmentNotice) -> AmendmentEmailReceipt:
        engine = self.email.engine
        settings = self.email.settings
        message = render_amendment_email(settings, notice)
        sender = parseaddr(settings.mail_from)[1] or "slaflow@localhost"
        try:
            await self.email._send(message, sender, [notice.to.email])
        except (aiosmtplib.SMTPException, OSError) as error:
            raise notify_email._classify(error, [notice.to.email]) from error
        receipt = AmendmentEmailReceipt(message_id=str(message["Message-ID"]))
        await asyncio.to_thread(
            store_receipt,
            engine,
            notice.idempotency_key,
            "email",
            workflow_id_for(notice.amendment.amendment_id),
            receipt.model_dump(mode="json"),
        )
        return receipt

    @activity.defn(name=POST_AMENDMENT_SLACK)
    async def post_amendment_slack(self, notice: AmendmentNotice) -> AmendmentSlackReceipt:
        """A direct message to the signatory (channel = their Slack user id)."""
        channel = notice.to.slack_user_id
        if not channel:
            raise ApplicationError(
                f"{notice.to.email} has no Slack user id", type="NoSlackUser", non_retryable=True
            )
        return await deliver_once(
            self.slack.engine,
            notice.idempotency_key,
            lambda stored: AmendmentSlackReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._post_slack(notice, channel),
        )

    async def _post_slack(self, notice: AmendmentNotice, channel: str) -> AmendmentSlackReceipt:
        engine = self.slack.engine
        text, blocks = render_amendment_slack(self.slack.settings, notice)
        try:
            response = await self.slack.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks
            )
        except SlackApiError as error:
            raise notify_slack._classify(error, channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable posting to {channel}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error
        receipt = AmendmentSlackReceipt(channel=str(response["channel"]), ts=str(response["ts"]))
        await asyncio.to_thread(
            store_receipt,
            engine,
            notice.idempotency_key,
            "slack",
            workflow_id_for(notice.amendment.amendment_id),
            receipt.model_dump(mode="json"),
        )
        return receipt
