"""The Slack notification activity: post a notice to a tier's channel (or thread) exactly once.

Idempotent like email: the `NotificationRow` of the key holds the posted channel and ts, and a
retry that finds it posts nothing. Errors are classified for Temporal's RetryPolicy (the only
retry layer: the client gets no slack-sdk retry handlers): 429 waits as long as Slack asks,
configuration mistakes (unknown channel, bad token) stop, outages retry.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify_email import describe_targets, load_receipt, store_receipt, ticket_link
from slaflow.notifications import SlackNotification, SlackReceipt
from slaflow.settings import Settings
from slaflow.tickets import NoticeKind, TicketStatus
from slaflow.tiers import Priority

__all__ = ["BUTTONS", "PERMANENT_ERRORS", "SlackActivities", "action_buttons", "render_slack"]

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "restricted_action",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
    }
)
"""Slack errors no retry can fix: someone has to change the agreement, the token or the app."""

_PRIORITY_MARK = {Priority.P1: "🔴", Priority.P2: "🟠", Priority.P3: "🟡", Priority.P4: "🔵"}


def _esc(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped, or user text could forge mentions and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_FINISHED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})

ACTIONS_BLOCK_ID = "slaflow_ticket_actions"
BUTTONS: tuple[tuple[str, str, str | None], ...] = (
    ("acknowledge", "Acknowledge", "primary"),
    ("assign", "Take ownership", None),
    ("escalate", "Escalate", "danger"),
    ("resolve", "Resolve", None),
)
"""Each button's `action_id` (the command the Slack interaction runs), label and style."""


def action_buttons(ticket_id: str) -> dict[str, Any]:
    """The `actions` block whose buttons run commands through `POST /slack/interactions`; each
    button's `value` is the ticket id."""
    elements = []
    for action_id, label, style in BUTTONS:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": ticket_id,
        }
        if style:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


def render_slack(
    settings: Settings, request: SlackNotification
) -> tuple[str, list[dict[str, Any]]]:
    """The `text` fallback (what notifications and screen readers show) and Block Kit blocks:
    header, headline, fields, targets, the command buttons (on pages, warnings, breaches and
    reminders of an unresolved ticket; not on thread updates) and a context line."""
    ticket, notice = request.ticket, request.notice
    mentions = " ".join(f"<@{c.slack_user_id}>" for c in notice.recipients if c.slack_user_id)
    link = ticket_link(settings, ticket.ticket_id)
    mark = _PRIORITY_MARK.get(ticket.priority, "")

    target_lines = []
    for target in describe_targets(ticket):
        if target.deadline is not None:
            epoch = int(target.deadline.timestamp())
            due = f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{target.due}>"
        else:
            due = target.due
        target_lines.append(f"*{target.label}*: due {due} ({_esc(target.left)})")

    headline = f"*{_esc(notice.headline)}*"
    if notice.reason:
        headline += f"\n{_esc(notice.reason)}"
    if mentions:
        headline += f"\n{mentions}"

    fields = [
        ("Ticket", f"<{link}|{_esc(ticket.ticket_id)}>"),
        ("Customer", _esc(ticket.customer)),
        ("Tier", ticket.tier.label),
        ("Status", ticket.status.value),
        ("Assignee", _esc(ticket.assignee or "unassigned")),
        ("Channel", ticket.channel.value.replace("_", " ")),
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{mark} {ticket.priority} · {ticket.subject}".strip(), 150),
                "emoji": True,
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(headline, 3000)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{name}*\n{value}", 2000)}
                for name, value in fields
            ],
        },
    ]
    if target_lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(target_lines)}}
        )
    if ticket.status not in _FINISHED and notice.kind is not NoticeKind.UPDATE:
        blocks.append(action_buttons(ticket.ticket_id))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"slaflow · {notice.kind.value} · {notice.tier.label} tier · "
                    f"<{link}|open ticket>",
                }
            ],
        }
    )
    text = f"[{ticket.priority}] {notice.headline}: {ticket.ticket_id} {ticket.subject}"
    text = _esc(text) + (f" {mentions}" if mentions else "")
    return _cut(text, 3000), blocks


CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
METADATA_EVENT = "slaflow_notification"
"""Slack message-metadata event type carrying each post's idempotency key."""


def _retry_after(error: SlackApiError) -> timedelta:
    headers = getattr(error.response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return timedelta(seconds=max(1, int(str(value))))
    except (TypeError, ValueError):
        return timedelta(seconds=1)


def _classify(error: SlackApiError, channel: str) -> ApplicationError:
    status = getattr(error.response, "status_code", 0)
    data = getattr(error.response, "data", None)
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429:
        delay = _retry_after(error)
        return ApplicationError(
            f"Slack rate-limited posting to {channel}; retry after {int(delay.total_seconds())}s",
            type="SlackRateLimited",
            next_retry_delay=delay,
        )
    if code in PERMANENT_ERRORS:
        return ApplicationError(
            f"Slack refused posting to {channel}: {code}",
            {"channel": channel, "error": code},
            type="SlackRejected",
            non_retryable=True,
        )
    return ApplicationError(
        f"Slack failed posting to {channel}: HTTP {status} {code or 'no error code'}",
        {"channel": channel, "error": code, "status": status},
        type="SlackUnavailable",
    )


class SlackActivities:
    """Slack delivery; built in worker.py with settings, database engine and (optionally) client."""

    def __init__(
        self, settings: Settings, engine: Engine, client: AsyncWebClient | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client or AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_base_url,
            retry_handlers=[],  # not even slack-sdk's default: Temporal is the retry layer
        )

    @activity.defn(name="post_slack")
    async def post_slack(self, request: SlackNotification) -> SlackReceipt:
        """Post one notice, or answer the earlier receipt if it was already posted."""
        stored = await asyncio.to_thread(load_receipt, self.engine, request.idempotency_key)
        if stored is not None:
            return SlackReceipt.model_validate({**stored, "duplicate": True})

        if activity.info().attempt > 1:
            # An earlier attempt may have posted and died before recording it: Slack knows.
            found = await self._already_posted(request)
            if found is not None:
                await self._record(request, found)
                return found.model_copy(update={"duplicate": True})

        text, blocks = render_slack(self.settings, request)
        arguments: dict[str, Any] = {
            "channel": request.channel,
            "text": text,
            "blocks": blocks,
            "metadata": {
                "event_type": METADATA_EVENT,
                "event_payload": {"idempotency_key": request.idempotency_key},
            },
        }
        if request.thread_ts:
            arguments["thread_ts"] = request.thread_ts
        try:
            response = await self.client.chat_postMessage(**arguments)
        except SlackApiError as error:
            raise _classify(error, request.channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable posting to {request.channel}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error

        receipt = SlackReceipt(channel=str(response["channel"]), ts=str(response["ts"]))
        await self._record(request, receipt)
        return receipt

    async def _record(self, request: SlackNotification, receipt: SlackReceipt) -> None:
        await asyncio.to_thread(
            store_receipt,
            self.engine,
            request.idempotency_key,
            "slack",
            request.ticket.ticket_id,
            receipt.model_dump(mode="json"),
        )

    async def _channel_id(self, channel: str) -> str | None:
        """Slack reads history by channel id only; agreements may name channels "#name"."""
        if CHANNEL_ID.match(channel):
            return channel
        name = channel.removeprefix("#")
        async for page in await self.client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000
        ):
            for found in page.get("channels") or []:
                if found.get("name") == name:
                    return str(found["id"])
        return None

    async def _already_posted(self, request: SlackNotification) -> SlackReceipt | None:
        """The message an earlier attempt posted, found by the idempotency key in its metadata
        (needs the channels:history scope). Only retries ask, so a first post costs nothing."""
        try:
            channel = await self._channel_id(request.channel)
            if channel is None:
                return None  # unknown name: nothing to find, post (at least once) instead
            if request.thread_ts:
                response = await self.client.conversations_replies(
                    channel=channel, ts=request.thread_ts, include_all_metadata=True, limit=200
                )
            else:
                response = await self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=100
                )
        except SlackApiError as error:
            raise _classify(error, request.channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable reading {request.channel}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("idempotency_key") == request.idempotency_key:
                return SlackReceipt(channel=channel, ts=str(message["ts"]))
        return None
