"""The Slack notification activity: post a notice to a tier's channel (or thread) exactly once.

Idempotent like email: the `NotificationRow` of the key holds the posted channel and ts, and a
retry that finds it posts nothing. `update_slack_root` rewrites a tier's root message (the first
post of its thread) with `chat.update` to show the ticket as it is now: status, tier, owner,
clocks, and only the buttons that still apply.

Errors are classified for Temporal's RetryPolicy (the only retry layer: the client gets no
slack-sdk retry handlers): 429 waits as long as Slack asks, configuration mistakes (unknown
channel, bad token, a deleted message) stop, outages retry.
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

from activities.deliveries import deliver_once, load_receipt, store_receipt
from activities.notify_email import describe_targets, ticket_link
from slaflow.notifications import SlackNotification, SlackReceipt, SlackRootUpdate
from slaflow.settings import Settings
from slaflow.tickets import EventKind, NoticeKind, TargetKind, TicketStatus, TicketView
from slaflow.tiers import Priority, next_tier

__all__ = [
    "BUTTONS",
    "PERMANENT_ERRORS",
    "SlackActivities",
    "action_buttons",
    "buttons_for",
    "render_root",
    "render_slack",
]

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
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
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
    ("respond", "Responded", None),
    ("assign", "Take ownership", None),
    ("escalate", "Escalate", "danger"),
    ("resolve", "Resolve", None),
)
"""Each button's `action_id` (the command the Slack interaction runs), label and style."""


def action_buttons(ticket_id: str, actions: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The `actions` block whose buttons run commands through `POST /slack/interactions`; each
    button's `value` is the ticket id. `actions` picks some of `BUTTONS` (default: all)."""
    elements = []
    for action_id, label, style in BUTTONS:
        if actions is not None and action_id not in actions:
            continue
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


def _first_response_met(ticket: TicketView) -> bool:
    return any(t.kind is TargetKind.FIRST_RESPONSE and t.met_at for t in ticket.targets)


def buttons_for(ticket: TicketView) -> tuple[str, ...]:
    """The commands that still make sense: none once resolved or closed, no Acknowledge once
    the current page is acknowledged, no Responded once the first response is recorded (an
    acknowledgement is not one), no Escalate at the top of the ladder."""
    if ticket.status in _FINISHED:
        return ()
    shown = []
    for action_id, _, _ in BUTTONS:
        if action_id == "acknowledge" and ticket.acknowledged_by is not None:
            continue
        if action_id == "escalate" and next_tier(ticket.tier) is None:
            continue
        if action_id == "respond" and _first_response_met(ticket):
            continue
        shown.append(action_id)
    return tuple(shown)


def _header(ticket: TicketView) -> dict[str, Any]:
    mark = _PRIORITY_MARK.get(ticket.priority, "")
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": _cut(f"{mark} {ticket.priority} · {ticket.subject}".strip(), 150),
            "emoji": True,
        },
    }


def _target_lines(ticket: TicketView, warnings: dict[Any, list[int]] | None = None) -> list[str]:
    lines = []
    for view, target in zip(ticket.targets, describe_targets(ticket), strict=True):
        if target.deadline is not None:
            epoch = int(target.deadline.timestamp())
            due = f"due <!date^{epoch}^{{date_short_pretty}} {{time}}|{target.due}> "
            due += f"({_esc(target.left)})"
        else:
            due = _esc(target.left)
        line = f"*{target.label}*: {due}"
        if view.status == "breached":
            line = f":red_circle: {line}, breached"
        sent = (warnings or {}).get(view.kind)
        if sent and view.status == "running":
            line = f":warning: {line} · warned at {', '.join(f'{p}%' for p in sent)}"
        lines.append(line)
    return lines


def _fields(settings: Settings, ticket: TicketView) -> dict[str, Any]:
    link = ticket_link(settings, ticket.ticket_id)
    owner = ticket.assignee or ticket.acknowledged_by
    fields = [
        ("Ticket", f"<{link}|{_esc(ticket.ticket_id)}>"),
        ("Customer", _esc(ticket.customer)),
        ("Tier", ticket.tier.label),
        ("Status", ticket.status.value.replace("_", " ")),
        ("Assignee", _esc(owner or "unassigned")),
        ("Channel", ticket.channel.value.replace("_", " ")),
    ]
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": _cut(f"*{name}*\n{value}", 2000)} for name, value in fields
        ],
    }


_QUIET_EVENTS = frozenset({EventKind.NOTIFIED, EventKind.NOTIFICATION_FAILED})


def status_line(update: SlackRootUpdate) -> str:
    """What a root message says first: where the ticket stands and who has it."""
    ticket = update.ticket
    status = ticket.status
    if status is TicketStatus.CLOSED:
        line = "*Closed*"
    elif status is TicketStatus.RESOLVED:
        resolver = next(
            (e.actor for e in reversed(ticket.events) if e.kind is EventKind.RESOLVED), None
        )
        line = "*Resolved*" + (f" by {_esc(resolver)}" if resolver else "")
    elif status.waiting:
        line = f"*{status.value.replace('_', ' ').capitalize()}* at the {ticket.tier.label} tier"
    elif ticket.acknowledged_by is not None:
        line = f"*Acknowledged* by {_esc(ticket.acknowledged_by)} at the {ticket.tier.label} tier"
        if not _first_response_met(ticket):  # acknowledging is not responding
            line += "; the first-response clock still runs: press *Responded* once replied"
    else:
        line = f"*Open*, waiting for the {ticket.tier.label} tier to acknowledge"
        mentions = [f"<@{c.slack_user_id}>" for c in update.paged if c.slack_user_id]
        names = [_esc(c.name) for c in update.paged if not c.slack_user_id]
        if mentions or names:
            line += "\npaged: " + ", ".join([*mentions, *names])
    if ticket.breached and status not in _FINISHED:
        line += "\n:rotating_light: an SLA target is breached"
    if update.tier is not ticket.tier and status not in _FINISHED:
        line += (
            f"\nThis is the {update.tier.label} thread; the ticket is now with the "
            f"*{ticket.tier.label}* tier."
        )
    latest = [e for e in ticket.events if e.kind not in _QUIET_EVENTS]
    if latest:
        event = latest[-1]
        what = event.kind.value.replace("_", " ")
        detail = f": {_esc(_cut(event.detail, 200))}" if event.detail else ""
        line += f"\nLatest: {what} by {_esc(event.actor)}{detail}"
    return line


def render_root(settings: Settings, update: SlackRootUpdate) -> tuple[str, list[dict[str, Any]]]:
    """A tier's root message as the ticket stands now: the `text` fallback and the blocks
    (header, status line, fields, clocks, the buttons that still apply, when it was updated)."""
    ticket = update.ticket
    link = ticket_link(settings, ticket.ticket_id)
    blocks: list[dict[str, Any]] = [
        _header(ticket),
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(status_line(update), 3000)}},
        _fields(settings, ticket),
    ]
    lines = _target_lines(ticket, dict(update.warnings_sent))
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    actions = buttons_for(ticket)
    if actions:
        blocks.append(action_buttons(ticket.ticket_id, actions))
    epoch = int(ticket.as_of.timestamp())
    stamp = ticket.as_of.strftime("%Y-%m-%d %H:%M UTC")
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"slaflow · {update.tier.label} thread · updated "
                    f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{stamp}> · "
                    f"<{link}|open ticket>",
                }
            ],
        }
    )
    owner = ticket.assignee or ticket.acknowledged_by
    summary = f"{ticket.status.value.replace('_', ' ')} at {ticket.tier.label}"
    if owner:
        summary += f", owner {owner}"
    text = f"[{ticket.priority}] {ticket.ticket_id} {ticket.subject}: {summary}"
    return _cut(_esc(text), 3000), blocks


def render_slack(
    settings: Settings, request: SlackNotification
) -> tuple[str, list[dict[str, Any]]]:
    """The `text` fallback (what notifications and screen readers show) and Block Kit blocks:
    header, headline, fields, targets, the command buttons (on pages, warnings, breaches and
    reminders of an unresolved ticket; not on thread updates) and a context line."""
    ticket, notice = request.ticket, request.notice
    mentions = " ".join(f"<@{c.slack_user_id}>" for c in notice.recipients if c.slack_user_id)
    link = ticket_link(settings, ticket.ticket_id)

    headline = f"*{_esc(notice.headline)}*"
    if notice.reason:
        headline += f"\n{_esc(notice.reason)}"
    if mentions:
        headline += f"\n{mentions}"

    blocks: list[dict[str, Any]] = [
        _header(ticket),
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(headline, 3000)}},
        _fields(settings, ticket),
    ]
    target_lines = _target_lines(ticket)
    if target_lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(target_lines)}}
        )
    actions = buttons_for(ticket)
    if actions and notice.kind is not NoticeKind.UPDATE:
        blocks.append(action_buttons(ticket.ticket_id, actions))
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


def _classify(error: SlackApiError, channel: str, doing: str = "posting to") -> ApplicationError:
    status = getattr(error.response, "status_code", 0)
    data = getattr(error.response, "data", None)
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429:
        delay = _retry_after(error)
        return ApplicationError(
            f"Slack rate-limited {doing} {channel}; retry after {int(delay.total_seconds())}s",
            type="SlackRateLimited",
            next_retry_delay=delay,
        )
    if code in PERMANENT_ERRORS:
        return ApplicationError(
            f"Slack refused {doing} {channel}: {code}",
            {"channel": channel, "error": code},
            type="SlackRejected",
            non_retryable=True,
        )
    return ApplicationError(
        f"Slack failed {doing} {channel}: HTTP {status} {code or 'no error code'}",
        {"channel": channel, "error": code, "status": status},
        type="SlackUnavailable",
    )


POSTED_LOOKBACK_SKEW = timedelta(minutes=10)
"""Slack's clock and Temporal's may disagree: look this much further back than the activity's
first scheduling when searching for an earlier attempt's post."""


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
        return await deliver_once(
            self.engine,
            request.idempotency_key,
            lambda stored: SlackReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._post(request),
        )

    async def _post(self, request: SlackNotification) -> SlackReceipt:
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

    @activity.defn(name="update_slack_root")
    async def update_slack_root(self, request: SlackRootUpdate) -> SlackReceipt:
        """Rewrite a tier's root message to show the ticket as it is now (`chat.update`).

        Idempotent twice over: a retry that finds the key's receipt does nothing, and
        rewriting a message with the same content changes nothing Slack shows. A deleted
        message (`message_not_found`) or one the bot did not post (`cant_update_message`) is
        permanent: the workflow records it on the ticket and stops updating that root."""
        stored = await asyncio.to_thread(load_receipt, self.engine, request.idempotency_key)
        if stored is not None:
            return SlackReceipt.model_validate({**stored, "duplicate": True})
        text, blocks = render_root(self.settings, request)
        where = f"{request.channel} (message {request.ts})"
        try:
            response = await self.client.chat_update(
                channel=request.channel, ts=request.ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            raise _classify(error, where, "updating") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable updating {where}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error
        receipt = SlackReceipt(channel=str(response["channel"]), ts=str(response["ts"]))
        await asyncio.to_thread(
            store_receipt,
            self.engine,
            request.idempotency_key,
            "slack",
            request.ticket.ticket_id,
            receipt.model_dump(mode="json"),
        )
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
        (needs the channels:history scope). Only retries ask, so a first post costs nothing.

        Every page since the activity was first scheduled is read: in a burst, hundreds of
        other posts can land in the channel between the lost attempt and this one."""
        since = activity.info().scheduled_time - POSTED_LOOKBACK_SKEW
        try:
            channel = await self._channel_id(request.channel)
            if channel is None:
                return None  # unknown name: nothing to find, post (at least once) instead
            if request.thread_ts:
                pages = await self.client.conversations_replies(
                    channel=channel,
                    ts=request.thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    oldest=f"{since.timestamp():.6f}",
                )
            else:
                pages = await self.client.conversations_history(
                    channel=channel,
                    include_all_metadata=True,
                    limit=200,
                    oldest=f"{since.timestamp():.6f}",
                )
            async for page in pages:
                for message in page.get("messages") or []:
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("idempotency_key") == request.idempotency_key:
                        return SlackReceipt(channel=channel, ts=str(message["ts"]))
        except SlackApiError as error:
            raise _classify(error, request.channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable reading {request.channel}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error
        return None
