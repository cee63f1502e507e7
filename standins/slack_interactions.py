"""Slack's other half, the person clicking: the stand-in's ``/_standin/`` routes turn a click,
a modal submission or a slash command into the request Slack would send the app.

Over HTTP the body is signed with the signing secret (``X-Slack-Signature``,
``X-Slack-Request-Timestamp``, v0 scheme) and posted to the app's interaction or command URL;
while the app is connected over Socket Mode it goes there as an envelope instead. Each carries
a ``response_url`` back to ``/_standin/response/<id>``, which records what the app answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from standins.slack_blocks import buttons, modal_inputs
from standins.slack_methods import error, message_json, ok
from standins.slack_socket import SocketHub
from standins.slack_state import APP_ID, DEFAULT_CLICKER, TEAM_ID, StandinState, StoredMessage

__all__ = ["arguments", "interaction_body", "router", "sign_request", "slack_signature"]

FORWARD_TIMEOUT_SECONDS = 10.0
VERIFICATION_TOKEN = "standin-verification-token"
TEAM = {"id": TEAM_ID, "domain": "slaflow-standin"}


def slack_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack puts on a request it sends to an app (v0 scheme)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def sign_request(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack puts on a request it sends to an app (form-encoded body)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": slack_signature(signing_secret, stamp, body),
    }


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interaction as Slack sends it: one form field, ``payload``, holding JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


async def arguments(request: Request) -> dict[str, Any]:
    """Query, form-encoded or JSON arguments, merged, as Slack accepts all three.
    Raises ValueError (JSONDecodeError, UnicodeDecodeError) on a body that is neither."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and "json" in content_type:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body:
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    blocks = args.get("blocks")
    if isinstance(blocks, str):  # form-encoded blocks arrive as a JSON string
        try:
            args["blocks"] = json.loads(blocks) if blocks else None
        except json.JSONDecodeError:
            args["blocks"] = "invalid"
    return args


def _state(request: Request) -> StandinState:
    state: StandinState = request.app.state.standin
    return state


def _slack_user(state: StandinState, user_id: str) -> dict[str, Any]:
    record = state.user(user_id) or {}
    name = str(record.get("name") or user_id.lower())
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _issue_response_url(request: Request, user_id: str, channel_id: str | None) -> str:
    response_id = uuid.uuid4().hex
    with _state(request).lock:
        _state(request).response_urls[response_id] = {"user": user_id, "channel": channel_id}
    return f"{str(request.base_url).rstrip('/')}/_standin/response/{response_id}"


async def _forward(request: Request, url: str | None, what: str, body: bytes) -> dict[str, Any]:
    """Sign `body` now and post it to the app as Slack would; what the app answered."""
    if not url:
        return {"ok": False, "error": f"no {what} configured"}
    headers = sign_request(request.app.state.signing_secret, body)
    try:
        async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT_SECONDS) as http:
            answer = await http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return {"ok": False, "error": f"{url} unreachable: {type(exc).__name__}: {exc}"}
    try:
        parsed: Any = answer.json() if answer.content else None
    except json.JSONDecodeError:
        parsed = answer.text
    return {"ok": True, "status": answer.status_code, "body": parsed}


def _socket(request: Request) -> SocketHub | None:
    """The Socket Mode hub, when an app is connected to it: then events go there."""
    hub: SocketHub | None = request.app.state.socket_hub
    return hub if hub is not None and hub.connected else None


async def _over_socket(hub: SocketHub, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An envelope to the connected app; its ack's payload is the app's answer."""
    try:
        delivery = await hub.push(kind, payload)
    except ConnectionError as exc:
        return {"ok": False, "error": f"Socket Mode: {exc}"}
    envelope_id = delivery.envelope["envelope_id"]
    if delivery.ack is None:
        return {"ok": False, "error": f"the app did not acknowledge {envelope_id} within 3 s"}
    return {
        "ok": True,
        "status": 200,
        "body": delivery.ack.get("payload"),
        "via": "socket_mode",
        "envelope_id": envelope_id,
    }


async def _interact(request: Request, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Deliver an interaction (socket first, else signed HTTP) and record it."""
    hub = _socket(request)
    if hub is not None:
        result = await _over_socket(hub, "interactive", payload)
    else:
        url = request.app.state.interaction_url
        result = await _forward(request, url, "interaction_url", interaction_body(payload))
    return _recorded(_state(request), kind, payload, result)


def _recorded(
    state: StandinState, kind: str, payload: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    with state.lock:
        state.interactions.append({"kind": kind, "payload": payload, "result": result})
    return result


def _block_actions(
    request: Request, message: StoredMessage, button: dict[str, Any], user_id: str
) -> dict[str, Any]:
    """The block_actions payload Slack sends for a click on `button` of `message`."""
    state = _state(request)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": message.ephemeral_to is not None,
    }
    if message.thread_ts:
        container["thread_ts"] = message.thread_ts
    action: dict[str, Any] = {
        "action_id": button["action_id"],
        "block_id": button["block_id"],
        "text": button["element"].get("text"),
        "value": button["value"],
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if button["style"]:
        action["style"] = button["style"]
    return {
        "type": "block_actions",
        "user": _slack_user(state, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": state.issue_trigger(user_id),
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": message.channel_name},
        "message": message_json(message),
        "state": {"values": {}},
        "response_url": _issue_response_url(request, user_id, message.channel),
        "actions": [action],
    }


router = APIRouter(prefix="/_standin")


@router.post("/click")
async def click(request: Request) -> JSONResponse:
    """Click a message's button as `user`: the signed block_actions goes to interaction_url.

    Body (JSON): channel, ts, action_id, and optionally user (default U0STANDIN)."""
    try:
        args = await arguments(request)
    except ValueError:
        return error("invalid_json", 400)
    user_id = str(args.get("user") or DEFAULT_CLICKER).strip()
    state = _state(request)
    message = state.find_message(str(args.get("channel") or ""), str(args.get("ts") or ""))
    if message is None:
        return error("message_not_found", 404)
    wanted = args.get("action_id")
    button = next((b for b in buttons(message.blocks) if b["action_id"] == wanted), None)
    if button is None:
        return error("action_not_found", 404)
    payload = _block_actions(request, message, button, user_id)
    result = await _interact(request, "block_actions", payload)
    if not result["ok"]:
        return JSONResponse(result, status_code=502)
    return JSONResponse(
        {**result, "trigger_id": payload["trigger_id"], "response_url": payload["response_url"]}
    )


def _submitted_values(view: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field_ in modal_inputs(view):
        entry = given.get(field_["block_id"])
        text = entry.get(field_["action_id"]) if isinstance(entry, dict) else None
        values.setdefault(field_["block_id"], {})[field_["action_id"]] = {
            "type": "plain_text_input",
            "value": str(text) if text not in ("", None) else None,
        }
    return values


@router.post("/submit")
async def submit(request: Request) -> JSONResponse:
    """Submit an open modal: body (JSON) view_id and values {block_id: {action_id: text}}."""
    try:
        args = await arguments(request)
    except ValueError:
        return error("invalid_json", 400)
    state = _state(request)
    with state.lock:
        view = state.views.get(str(args.get("view_id") or ""))
        if view is None or not view["open"]:
            return error("view_not_found", 404)
        view = dict(view)
    given = args["values"] if isinstance(args.get("values"), dict) else {}
    user_id = str(view["user"])
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": _slack_user(state, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": state.issue_trigger(user_id),
        "view": {
            **{k: v for k, v in view.items() if k not in ("user", "open", "errors")},
            "state": {"values": _submitted_values(view, given)},
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    result = await _interact(request, "view_submission", payload)
    if not result["ok"]:
        return JSONResponse(result, status_code=502)
    body = result.get("body")
    errors = body.get("errors") if isinstance(body, dict) else None
    refused = isinstance(body, dict) and body.get("response_action") == "errors"
    closed = result["status"] == 200 and not refused
    with state.lock:
        stored = state.views[view["id"]]
        stored["open"] = not closed
        stored["errors"] = errors if isinstance(errors, dict) else {}
        state.changed()
    return JSONResponse({**result, "closed": closed})


@router.post("/close")
async def close(request: Request) -> JSONResponse:
    """Close an open modal without submitting it (its Cancel button); body: view_id."""
    try:
        args = await arguments(request)
    except ValueError:
        return error("invalid_json", 400)
    state = _state(request)
    with state.lock:
        view = state.views.get(str(args.get("view_id") or ""))
        if view is None or not view["open"]:
            return error("view_not_found", 404)
        view["open"] = False
        state.changed()
    return ok()


@router.post("/command")
async def command(request: Request) -> JSONResponse:
    """Run a slash command as `user`: body (JSON) command (default /sla), text, user,
    channel. The app's immediate answer is returned and recorded like a response_url post."""
    try:
        args = await arguments(request)
    except ValueError:
        return error("invalid_json", 400)
    state = _state(request)
    user_id = str(args.get("user") or DEFAULT_CLICKER).strip()
    channel_id = state.resolve_channel(str(args.get("channel") or "#general"))
    response_url = _issue_response_url(request, user_id, channel_id)
    form = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": "slaflow-standin",
        "channel_id": channel_id or "",
        "channel_name": state.channels.get(channel_id or "", ""),
        "user_id": user_id,
        "user_name": _slack_user(state, user_id)["name"],
        "command": str(args.get("command") or "/sla"),
        "text": str(args.get("text") or ""),
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": state.issue_trigger(user_id),
    }
    hub = _socket(request)
    if hub is not None:
        result = await _over_socket(hub, "slash_commands", form)
    else:
        url = request.app.state.command_url
        result = await _forward(request, url, "command_url", urlencode(form).encode())
    result = _recorded(state, "slash_command", form, result)
    if not result["ok"]:
        return JSONResponse(result, status_code=502)
    if result["status"] == 200 and isinstance(result.get("body"), dict):
        _record_response(state, response_url.rpartition("/")[2], result["body"])
    return JSONResponse({**result, "response_url": response_url})


def _record_response(
    state: StandinState, response_id: str, body: dict[str, Any]
) -> dict[str, Any] | None:
    with state.lock:
        issued = state.response_urls.get(response_id)
        if issued is None:
            return None
        now = time.time()
        entry = {
            "id": response_id,
            "seq": len(state.responses),
            "at": time.strftime("%H:%M:%S", time.gmtime(now)),
            "epoch": now,
            "user": issued["user"],
            "channel": issued["channel"],
            "body": body,
        }
        state.record_response(entry)
        return entry


@router.post("/response/{response_id}")
async def response_url(response_id: str, request: Request) -> JSONResponse:
    """A response_url: records what the app says to the clicker (JSON, as Slack takes it)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error("invalid_json", 400)
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return error("no_text", 400)
    if _record_response(_state(request), response_id, body) is None:
        return error("expired_url", 404)
    return ok()
