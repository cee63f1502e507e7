"""The Slack Web API methods the stand-in answers, with Slack's own shapes and errors.

Each method is a function of the workspace and the call's arguments; `METHODS` maps
Slack's method names to them. Answers are ``{"ok": true, ...}`` or HTTP 200 with
``{"ok": false, "error": "..."}`` as Slack gives them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from standins.slack_state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, StandinState, StoredMessage

__all__ = ["METHODS", "TRIGGER_TTL_SECONDS", "error", "message_json", "ok"]

TRIGGER_TTL_SECONDS = 3.0
"""Slack's trigger ids expire 3 s after the interaction that carried them."""
MAX_LIMIT = 1000

Method = Callable[[StandinState, dict[str, Any]], JSONResponse]


def ok(**payload: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **payload})


def error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": code}, status_code=status, headers=headers)


def _cursor(offset: int) -> str:
    """An opaque next_cursor, base64 like Slack's ("next_offset:<n>" inside)."""
    return base64.b64encode(f"next_offset:{offset}".encode()).decode()


def _cursor_offset(cursor: str) -> int | None:
    """Where a cursor of `_cursor` resumes; 0 for none, None for one this server never issued."""
    if not cursor:
        return 0
    try:
        prefix, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        return int(offset) if prefix == "next_offset" and int(offset) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def _metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata arrives as an object (JSON body) or a JSON string (form body)."""
    if isinstance(value, str) and value:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true")


def message_json(message: StoredMessage) -> dict[str, Any]:
    """A stored message as the Web API shows it."""
    payload: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "team": TEAM_ID,
    }
    if message.user == BOT_USER_ID:
        payload["bot_id"] = BOT_ID
    if message.blocks is not None:
        payload["blocks"] = message.blocks
    if message.thread_ts:
        payload["thread_ts"] = message.thread_ts
    if message.edited_ts:
        payload["edited"] = {"user": message.user, "ts": message.edited_ts}
    if message.metadata is not None:
        payload["metadata"] = message.metadata
    return payload


def _content_error(args: dict[str, Any]) -> str | None:
    blocks = args.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        return "invalid_blocks"
    if not args.get("text") and not blocks and not args.get("attachments"):
        return "no_text"
    return None


def post_message(state: StandinState, args: dict[str, Any], ephemeral: bool = False) -> Any:
    """chat.postMessage / chat.postEphemeral; a user id as channel posts to their DM."""
    channel_id = state.resolve_channel(str(args.get("channel") or ""))
    if channel_id is None:
        return error("channel_not_found")
    problem = _content_error(args)
    if problem:
        return error(problem)
    user = args.get("user")
    if ephemeral and (not user or state.user(str(user)) is None):
        return error("user_not_found")
    with state.lock:
        message = state.append(
            StoredMessage(
                channel=channel_id,
                channel_name=state.channels[channel_id],
                ts=state.next_ts(),
                text=str(args.get("text") or ""),
                blocks=args.get("blocks"),
                user=BOT_USER_ID,
                thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None,
                ephemeral_to=str(user) if ephemeral else None,
                metadata=_metadata(args.get("metadata")),
            )
        )
    if ephemeral:
        return ok(message_ts=message.ts)
    return ok(channel=channel_id, ts=message.ts, message=message_json(message))


def update_message(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    """chat.update as Slack answers it: the message must exist (message_not_found), be the
    app's own (cant_update_message), and keep some content (no_text); the stored message
    takes the new text and blocks and an `edited` stamp."""
    channel_id = state.resolve_channel(str(args.get("channel") or ""), create=False)
    if channel_id is None:
        return error("channel_not_found")
    if not args.get("ts"):
        return error("message_not_found")
    problem = _content_error(args)
    if problem:
        return error(problem)
    with state.lock:
        found = next(
            (
                m
                for m in state.messages
                if m.channel == channel_id and m.ts == str(args["ts"]) and not m.ephemeral_to
            ),
            None,
        )
        if found is None:
            return error("message_not_found")
        if found.user != BOT_USER_ID:
            return error("cant_update_message")
        found.text = str(args.get("text") or "")
        if "blocks" in args:
            found.blocks = args.get("blocks")
        if "metadata" in args:
            found.metadata = _metadata(args.get("metadata"))
        found.edited_ts = state.next_ts()
        state.saved(found)
        state.edits.append({"channel": channel_id, "ts": found.ts, "at": found.edited_ts})
    return ok(channel=channel_id, ts=found.ts, text=found.text, message=message_json(found))


def conversation(state: StandinState, args: dict[str, Any], replies: bool = False) -> Any:
    """conversations.history (top-level messages, newest first) and conversations.replies
    (a thread, parent first); metadata only with include_all_metadata, as in Slack."""
    channel_id = state.resolve_channel(str(args.get("channel") or ""))
    if channel_id is None:
        return error("channel_not_found")
    try:
        limit = min(max(int(args.get("limit") or 100), 1), MAX_LIMIT)
        oldest = float(args.get("oldest") or 0)
    except (TypeError, ValueError):
        return error("invalid_arguments")
    with state.lock:
        visible = [m for m in state.messages if m.channel == channel_id and not m.ephemeral_to]
    if replies:
        parent = str(args.get("ts") or "")
        found = [m for m in visible if parent in (m.ts, m.thread_ts)]
        if not found:
            return error("thread_not_found")
    else:
        found = [m for m in reversed(visible) if m.thread_ts in (None, m.ts)]
    inclusive = _flag(args, "inclusive")
    found = [m for m in found if float(m.ts) > oldest or (inclusive and float(m.ts) == oldest)]
    start = _cursor_offset(str(args.get("cursor") or ""))
    if start is None:
        return error("invalid_cursor")
    page = found[start : start + limit]
    with_metadata = _flag(args, "include_all_metadata")
    shown = []
    for message in page:
        payload = message_json(message)
        if not with_metadata:
            payload.pop("metadata", None)
        shown.append(payload)
    more = start + limit < len(found)
    return ok(
        messages=shown,
        has_more=more,
        response_metadata={"next_cursor": _cursor(start + limit) if more else ""},
    )


def _channel_json(state: StandinState, channel_id: str) -> dict[str, Any]:
    user = state.ims.get(channel_id)
    if user is not None:
        return {"id": channel_id, "is_im": True, "user": user, "is_open": True}
    return {"id": channel_id, "name": state.channels[channel_id], "is_channel": True}


def list_channels(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    kinds = str(args.get("types") or "public_channel").split(",")
    with state.lock:
        channels = [
            _channel_json(state, cid)
            for cid in state.channels
            if (cid in state.ims and "im" in kinds) or (cid not in state.ims and kinds != ["im"])
        ]
    return ok(channels=channels, response_metadata={"next_cursor": ""})


def open_conversation(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    """conversations.open: the DM with one user (`users`), or an existing one (`channel`)."""
    channel = str(args.get("channel") or "")
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if channel:
        if channel not in state.ims:
            return error("channel_not_found")
        opened: str | None = channel
    elif not users:
        return error("users_list_not_supplied")
    elif len(users) > 1:
        return error("method_not_supported_for_channel_type")  # no group DMs here
    else:
        opened = state.open_im(users[0])
    if opened is None:
        return error("user_not_found")
    channel_id = opened
    with state.lock:
        full = _channel_json(state, channel_id)
    shown = full if _flag(args, "return_im") else {"id": channel_id}
    return ok(channel=shown, no_op=False, already_open=False)


def users_info(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    user = state.user(str(args.get("user") or ""))
    return ok(user=user) if user is not None else error("user_not_found")


def auth_test(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    return ok(
        url="https://slaflow-standin.slack.com/",
        team="slaflow stand-in",
        user="slaflow",
        team_id=TEAM_ID,
        user_id=BOT_USER_ID,
        bot_id=BOT_ID,
        is_enterprise_install=False,
    )


def _stored_view(view: dict[str, Any], user: str) -> dict[str, Any]:
    view_id = "V" + uuid.uuid4().hex[:10].upper()
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view.get("blocks"),
        "private_metadata": str(view.get("private_metadata") or ""),
        "callback_id": str(view.get("callback_id") or ""),
        "external_id": str(view.get("external_id") or ""),
        "state": {"values": {}},
        "hash": uuid.uuid4().hex[:20],
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "user": user,
        "open": True,
        "errors": {},
    }


def views_open(state: StandinState, args: dict[str, Any]) -> JSONResponse:
    view = args.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except json.JSONDecodeError:
            return error("invalid_arguments")
    trigger_id = str(args.get("trigger_id") or "")
    if not trigger_id or not isinstance(view, dict):
        return error("invalid_arguments")
    if view.get("type") != "modal" or not view.get("title") or not view.get("blocks"):
        return error("invalid_arguments")
    with state.lock:
        issued = state.triggers.pop(trigger_id, None)
        if issued is None:
            return error("invalid_trigger_id")  # unknown, or already exchanged
        at, user = issued
        if time.monotonic() - at > TRIGGER_TTL_SECONDS:
            return error("expired_trigger_id")
        stored = _stored_view(view, user)
        state.views[stored["id"]] = stored
        state.changed()
    return ok(view={k: v for k, v in stored.items() if k not in ("user", "open", "errors")})


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": post_message,
    "chat.postEphemeral": lambda state, args: post_message(state, args, ephemeral=True),
    "chat.update": update_message,
    "conversations.history": conversation,
    "conversations.list": list_channels,
    "conversations.open": open_conversation,
    "conversations.replies": lambda state, args: conversation(state, args, replies=True),
    "users.info": users_info,
    "views.open": views_open,
}
"""apps.connections.open is answered by the router: it takes the app-level token."""
