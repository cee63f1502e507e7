"""A stand-in of the Slack Web API, served over real HTTP on 127.0.0.1.

No maintained Slack emulator exists, and Slack is unreachable here, so this answers the few
methods slaflow calls with Slack's own response shapes: ``{"ok": true, ...}`` or HTTP 200 with
``{"ok": false, "error": "..."}``, HTTP 429 with ``Retry-After`` when rate limited; bodies may be
form-encoded or JSON, auth is a Bearer token (or a ``token`` parameter). `AsyncWebClient(
base_url=standin.base_url)` talks to it unchanged.

Tests and the dev page drive it through ``/_standin/``: read the messages, inject failures
(``POST /_standin/fail``), reset. ``/`` is a plain HTML view of channels, messages and threads.

It also plays Slack's other half, the user clicking: ``/`` renders the buttons of messages with
``actions`` blocks, and ``POST /_standin/click`` turns a click into the ``block_actions``
interaction Slack would send (form-encoded ``payload=``, signed with the signing secret in
``X-Slack-Signature``/``X-Slack-Request-Timestamp``) and posts it to `interaction_url`. Its
``response_url`` points back at ``/_standin/response/<id>``, which records what the app answers.
``views.open`` stores the modal; ``POST /_standin/submit`` sends its ``view_submission``. Trigger
ids are issued per click and expire after 3 s, as Slack's do.

Socket Mode: ``apps.connections.open`` (with the app-level token) answers a one-time websocket
URL of `standins.slack_socket.SocketHub`. While an app is connected that way, clicks, modal
submissions and slash commands go to it as envelopes over the websocket instead of HTTP, as
Slack does for an app with Socket Mode on, and each must be acknowledged within 3 s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode

import httpx
import jinja2
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from standins.slack_socket import SocketHub

__all__ = [
    "SlackStandin",
    "StandinState",
    "create_slack_standin",
    "interaction_body",
    "sign_request",
    "slack_signature",
]

BOT_USER_ID = "U0SLAFLOW"
BOT_ID = "B0SLAFLOW"
TEAM_ID = "T0STANDIN"
APP_ID = "A0SLAFLOW"
DEFAULT_CLICKER = "U0STANDIN"
"""Who clicks when the page or a test names nobody (not in any escalation matrix)."""
TRIGGER_TTL_SECONDS = 3.0
"""Slack's trigger ids expire 3 s after the interaction that carried them."""
FORWARD_TIMEOUT_SECONDS = 10.0


def slack_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack puts on a request it sends to an app (v0 scheme)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class StoredMessage:
    channel: str
    channel_name: str
    ts: str
    text: str
    blocks: list[Any] | None
    user: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class Failure:
    """An injected failure for `method` ("*" for any), served `times` times (None: until reset)
    or, with `for_seconds`, to every call until that long after it was injected (an outage)."""

    method: str = "*"
    error: str = "internal_error"
    status: int = 200
    times: int | None = 1
    retry_after: int = 1
    for_seconds: float | None = None
    injected_at: float = field(default_factory=time.monotonic)

    def expired(self) -> bool:
        return self.for_seconds is not None and (
            time.monotonic() - self.injected_at >= self.for_seconds
        )


@dataclass
class StandinState:
    """Everything the stand-in remembers, behind one lock: tests may read it from any thread."""

    auto_create: bool = True
    initial_channels: tuple[str, ...] = ()
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    messages: list[StoredMessage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_ts_us: int = 0
    triggers: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (issued, user)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> view, as opened
    responses: list[dict[str, Any]] = field(default_factory=list)  # what came to response_urls
    interactions: list[dict[str, Any]] = field(default_factory=list)  # what was sent, answered
    edits: list[dict[str, Any]] = field(default_factory=list)  # chat.update calls that landed
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user, channel
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.channels.clear()
            self.messages.clear()
            self.failures.clear()
            self.users.clear()
            self.triggers.clear()
            self.views.clear()
            self.responses.clear()
            self.interactions.clear()
            self.edits.clear()
            self.response_urls.clear()
            for name in self.initial_channels:
                self.add_channel(name)

    def add_channel(self, name_or_id: str) -> str:
        """Create a channel ("#name" or a "C..." id) and return its id."""
        with self.lock:
            if name_or_id.startswith("C") and not name_or_id.startswith("#"):
                self.channels.setdefault(name_or_id, name_or_id)
                return name_or_id
            name = name_or_id.lstrip("#")
            digest = hashlib.sha1(name.encode()).hexdigest()[:10].upper()
            channel_id = f"C{digest}"
            self.channels[channel_id] = name
            return channel_id

    def resolve_channel(self, channel: str, *, create: bool = True) -> str | None:
        """The id of `channel` (an id, "#name" or "name"), auto-creating it when allowed."""
        with self.lock:
            if channel in self.channels:
                return channel
            name = channel.lstrip("#")
            for channel_id, known in self.channels.items():
                if known == name:
                    return channel_id
            if create and self.auto_create and channel[:1] in ("#", "C"):
                return self.add_channel(channel)
            return None

    def next_ts(self) -> str:
        """A unique, increasing message ts shaped like Slack's ("1700000000.000100")."""
        with self.lock:
            self.last_ts_us = max(int(time.time() * 1_000_000), self.last_ts_us + 1)
            seconds, micros = divmod(self.last_ts_us, 1_000_000)
            return f"{seconds}.{micros:06d}"

    def take_failure(self, method: str) -> Failure | None:
        with self.lock:
            self.failures = [f for f in self.failures if not f.expired()]
            for failure in self.failures:
                if failure.method in ("*", method):
                    if failure.for_seconds is None and failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
            return None

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"
        with self.lock:
            now = time.monotonic()
            expired = [t for t, (at, _) in self.triggers.items() if now - at > 60]
            for old in expired:
                del self.triggers[old]
            self.triggers[trigger_id] = (now, user_id)
        return trigger_id

    def say(self, channel: str, text: str, user: str = DEFAULT_CLICKER) -> StoredMessage:
        """A message a person wrote (not the app), e.g. to see chat.update refuse it."""
        with self.lock:
            channel_id = self.resolve_channel(channel)
            if channel_id is None:
                raise KeyError(f"unknown channel {channel}")
            message = StoredMessage(
                channel=channel_id,
                channel_name=self.channels[channel_id],
                ts=self.next_ts(),
                text=text,
                blocks=None,
                user=user,
            )
            self.messages.append(message)
            return message

    def find_message(self, channel: str, ts: str) -> StoredMessage | None:
        with self.lock:
            channel_id = self.resolve_channel(channel, create=False)
            return next((m for m in self.messages if m.channel == channel_id and m.ts == ts), None)

    def known_user_ids(self) -> list[str]:
        """Registered users, then everyone a message mentions: whom the page offers to click as."""
        with self.lock:
            found = dict.fromkeys(self.users)
            for message in self.messages:
                found.update(dict.fromkeys(_MENTION.findall(message.text)))
                if message.blocks:
                    found.update(dict.fromkeys(_MENTION.findall(json.dumps(message.blocks))))
            return list(found)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """A registered user, or a synthesized one for any "U"/"W" id (everyone exists here)."""
        with self.lock:
            if user_id in self.users:
                return self.users[user_id]
            if user_id[:1] in ("U", "W") and len(user_id) > 1:
                return _user_record(user_id, user_id.lower(), None)
            return None


def _user_record(user_id: str, name: str, email: str | None, **extra: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {"real_name": name, "display_name": name}
    if email:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": name,
        "deleted": False,
        "is_bot": False,
        "tz": "UTC",
        "profile": profile,
        **extra,
    }


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
    except ValueError:
        return None


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **payload})


def _error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)


async def _arguments(request: Request) -> dict[str, Any]:
    """Query, form-encoded or JSON arguments, merged, as Slack accepts all three."""
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


def _token(request: Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = args.get("token")
    return str(token) if token else None


def _metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata arrives as an object (JSON body) or a JSON string (form body)."""
    if isinstance(value, str) and value:
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def _message_json(message: StoredMessage) -> dict[str, Any]:
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


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_TOKEN = re.compile(r"<(?:!date\^\d+\^[^|>]*\|([^>]*)|@([A-Z0-9]+)|[^|>]+\|([^>]*))>")


def _readable(text: str) -> str:
    """Slack's <!date^..|fallback>, <@U..> and <url|label> tokens as a person would read them."""
    plain = _TOKEN.sub(lambda m: m[1] or (f"@{m[2]}" if m[2] else m[3] or ""), text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _shown(message: StoredMessage) -> str:
    """What Slack shows of a message: its blocks' text (header, sections, fields, context)
    when it has blocks, else its text."""
    lines: list[str] = []
    for block in message.blocks if isinstance(message.blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("header", "section") and isinstance(block.get("text"), dict):
            lines.append(str(block["text"].get("text") or ""))
        if kind == "section":
            lines.extend(str(f.get("text") or "") for f in block.get("fields") or [])
        if kind == "context":
            lines.extend(str(e.get("text") or "") for e in block.get("elements") or [])
    shown = "\n".join(line for line in lines if line)
    return _readable(shown or message.text).replace("*", "")


def _buttons(blocks: Any) -> list[dict[str, Any]]:
    """The buttons of a message's ``actions`` blocks, as the page renders them."""
    found: list[dict[str, Any]] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append(
                    {
                        "action_id": element.get("action_id", ""),
                        "label": (element.get("text") or {}).get("text", ""),
                        "style": element.get("style", ""),
                        "value": element.get("value", ""),
                        "block_id": block.get("block_id", ""),
                        "element": element,
                    }
                )
    return found


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The plain-text inputs of a modal, as the page renders them and a submission fills them."""
    found: list[dict[str, Any]] = []
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            found.append(
                {
                    "block_id": block.get("block_id", ""),
                    "action_id": element.get("action_id", ""),
                    "label": (block.get("label") or {}).get("text", ""),
                    "optional": bool(block.get("optional")),
                }
            )
    return found


_environment = jinja2.Environment(autoescape=True)
_environment.filters["readable"] = _readable
_environment.filters["shown"] = _shown
_environment.filters["buttons"] = _buttons
_environment.filters["inputs"] = _inputs
_PAGE = _environment.from_string(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>Slack stand-in</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}
.msg{border-left:3px solid #4a154b;padding:.3rem .8rem;margin:.6rem 0;white-space:pre-wrap}
.reply{margin-left:2rem;border-color:#999}.meta{color:#666;font-size:.8rem}
.actions{white-space:normal;margin:.3rem 0}
.actions button{margin-right:.3rem;padding:.2rem .7rem;border:1px solid #999;border-radius:4px;
background:#fff;cursor:pointer}
.actions button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.actions button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.modal{border:2px solid #4a154b;border-radius:6px;padding:.6rem 1rem;margin:.6rem 0}
.answer{border-left:3px solid #007a5a;padding:.3rem .8rem;margin:.4rem 0;white-space:pre-wrap}
.error{color:#e01e5a}
</style></head><body>
<h1>Slack stand-in</h1>
<p class="meta">{{ messages|length }} message(s).
{% if interaction_url %}Interactions go to {{ interaction_url }}.{% else %}No interaction_url is
configured: buttons cannot reach an app.{% endif %}</p>
<p><label>Click as <input id="as-user" list="known-users" value="{{ default_user }}" size="14">
</label><datalist id="known-users">{% for u in users %}<option value="{{ u.id }}">{{ u.name }}
</option>{% endfor %}</datalist>
{% if command_url %}<label> · <code>/sla</code> <input id="sla-text" size="16"
placeholder="ticket id, or empty"></label> <button id="sla-run">Run</button>{% endif %}</p>
<p id="outcome" class="meta"></p>
{% if open_views %}<section><h2>Open modals</h2>
{% for v in open_views %}<form class="modal" data-view="{{ v.id }}">
<strong>{{ (v.title or {}).get("text", "") }}</strong>
<span class="meta">for {{ v.user }}</span>
{% for i in v|inputs %}<p><label>{{ i.label }}{% if i.optional %} (optional){% endif %}<br>
<textarea name="{{ i.block_id }}/{{ i.action_id }}" rows="3" cols="60"></textarea></label></p>
{% endfor %}{% for block, error in (v.errors or {}).items() %}
<p class="error">{{ error }}</p>{% endfor %}
<button type="submit">{{ (v.submit or {}).get("text", "Submit") }}</button>
</form>{% endfor %}</section>{% endif %}
{% if responses %}<section><h2>Answers to clicks and commands</h2>
{% for r in responses|reverse %}<div class="answer"><div class="meta">{{ r.at }} · to
{{ r.user }} · {{ r.body.get("response_type", "ephemeral") }}</div>
{{ (r.body.get("text") or "")|readable }}</div>{% endfor %}</section>{% endif %}
{% for channel_id, name in channels %}
<section><h2>#{{ name }} <span class="meta">{{ channel_id }}</span></h2>
{% for m in roots[channel_id] %}
  <div class="msg"><div class="meta">{{ m.ts }}{% if m.ephemeral_to %}
   · only visible to {{ m.ephemeral_to }}{% endif %}{% if m.edited_ts %}
   · <span class="edited">edited {{ m.edited_ts }}</span>{% endif %}</div>
  <div class="body">{{ m|shown }}</div>
  {% set buttons = m.blocks|buttons %}{% if buttons %}<div class="actions">
  {% for b in buttons %}<button class="{{ b.style }}" data-channel="{{ channel_id }}"
   data-ts="{{ m.ts }}" data-action="{{ b.action_id }}">{{ b.label }}</button>{% endfor %}
  </div>{% endif %}
  {% for r in replies.get((channel_id, m.ts), []) %}
    <div class="msg reply"><div class="meta">{{ r.ts }}{% if r.edited_ts %}
     · <span class="edited">edited {{ r.edited_ts }}</span>{% endif %}</div>
    <div class="body">{{ r|shown }}</div>
    {% set buttons = r.blocks|buttons %}{% if buttons %}<div class="actions">
    {% for b in buttons %}<button class="{{ b.style }}" data-channel="{{ channel_id }}"
     data-ts="{{ r.ts }}" data-action="{{ b.action_id }}">{{ b.label }}</button>{% endfor %}
    </div>{% endif %}</div>
  {% endfor %}</div>
{% else %}<p class="meta">No messages.</p>{% endfor %}
</section>
{% endfor %}
<script>
async function send(path, body) {
  const outcome = document.getElementById("outcome");
  outcome.textContent = "sending…";
  const answer = await (await fetch(path, {
    method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)
  })).json();
  outcome.textContent = answer.ok ? `the app answered HTTP ${answer.status}` : answer.error;
  setTimeout(() => location.reload(), 1000);  // the app answers the clicker a moment later
}
const clicker = () => document.getElementById("as-user").value.trim();
document.querySelectorAll(".actions button").forEach((button) =>
  button.addEventListener("click", () => send("/_standin/click", {
    channel: button.dataset.channel, ts: button.dataset.ts,
    action_id: button.dataset.action, user: clicker(),
  })));
document.querySelectorAll("form.modal").forEach((form) =>
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = {};
    for (const [name, value] of new FormData(form)) {
      const [block, action] = name.split("/");
      (values[block] ??= {})[action] = value;
    }
    send("/_standin/submit", {view_id: form.dataset.view, values, user: clicker()});
  }));
const run = document.getElementById("sla-run");
if (run) run.addEventListener("click", () => send("/_standin/command",
  {command: "/sla", text: document.getElementById("sla-text").value, user: clicker()}));
</script>
</body></html>"""
)


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


def create_slack_standin(
    signing_secret: str,
    bot_token: str,
    interaction_url: str | None = None,
    *,
    command_url: str | None = None,
    channels: Iterable[str] = (),
    auto_create_channels: bool = True,
    app_token: str = "xapp-local-development",
    socket_hub: SocketHub | None = None,
) -> FastAPI:
    """The stand-in app. `channels` exist from the start; with `auto_create_channels` any
    channel named "#..." or "C..." is created on first post, otherwise it is channel_not_found.
    Clicks go to `interaction_url` and slash commands to `command_url` (both may be set later
    through ``app.state``, e.g. once the app under test has a port).
    """
    state = StandinState(auto_create=auto_create_channels, initial_channels=tuple(channels))
    state.reset()
    app = FastAPI(title="Slack Web API stand-in", docs_url=None, redoc_url=None)
    app.state.standin = state
    app.state.signing_secret = signing_secret
    app.state.interaction_url = interaction_url
    app.state.command_url = command_url
    app.state.app_token = app_token
    app.state.socket_hub = socket_hub

    def post_message(args: dict[str, Any], ephemeral: bool) -> JSONResponse:
        channel_id = state.resolve_channel(str(args.get("channel") or ""))
        if channel_id is None:
            return _error("channel_not_found")
        blocks = args.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            return _error("invalid_blocks")
        text = str(args.get("text") or "")
        if not text and not blocks and not args.get("attachments"):
            return _error("no_text")
        user = args.get("user")
        if ephemeral and (not user or state.user(str(user)) is None):
            return _error("user_not_found")
        with state.lock:
            message = StoredMessage(
                channel=channel_id,
                channel_name=state.channels[channel_id],
                ts=state.next_ts(),
                text=text,
                blocks=blocks,
                user=BOT_USER_ID,
                thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None,
                ephemeral_to=str(user) if ephemeral else None,
                metadata=_metadata(args.get("metadata")),
            )
            state.messages.append(message)
        if ephemeral:
            return _ok(message_ts=message.ts)
        return _ok(channel=channel_id, ts=message.ts, message=_message_json(message))

    def update_message(args: dict[str, Any]) -> JSONResponse:
        """chat.update as Slack answers it: the message must exist (message_not_found), be
        the app's own (cant_update_message), and keep some content (no_text); the stored
        message takes the new text and blocks and an `edited` stamp."""
        channel_id = state.resolve_channel(str(args.get("channel") or ""), create=False)
        if channel_id is None:
            return _error("channel_not_found")
        if not args.get("ts"):
            return _error("message_not_found")
        blocks = args.get("blocks")
        if blocks is not None and not isinstance(blocks, list):
            return _error("invalid_blocks")
        if not args.get("text") and not blocks and not args.get("attachments"):
            return _error("no_text")
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
                return _error("message_not_found")
            if found.user != BOT_USER_ID:
                return _error("cant_update_message")
            found.text = str(args.get("text") or "")
            if "blocks" in args:
                found.blocks = blocks
            if "metadata" in args:
                found.metadata = _metadata(args.get("metadata"))
            found.edited_ts = state.next_ts()
            state.edits.append({"channel": channel_id, "ts": found.ts, "at": found.edited_ts})
        return _ok(channel=channel_id, ts=found.ts, text=found.text, message=_message_json(found))

    def conversation(args: dict[str, Any], replies: bool) -> JSONResponse:
        """conversations.history (top-level messages, newest first) and conversations.replies
        (a thread, parent first); metadata only with include_all_metadata, as in Slack."""
        channel_id = state.resolve_channel(str(args.get("channel") or ""))
        if channel_id is None:
            return _error("channel_not_found")
        limit = int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        with state.lock:
            visible = [m for m in state.messages if m.channel == channel_id and not m.ephemeral_to]
        if replies:
            parent = str(args.get("ts") or "")
            found = [m for m in visible if parent in (m.ts, m.thread_ts)]
            if not found:
                return _error("thread_not_found")
        else:
            found = [m for m in reversed(visible) if m.thread_ts in (None, m.ts)]
        oldest = float(args.get("oldest") or 0)
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        found = [m for m in found if float(m.ts) > oldest or (inclusive and float(m.ts) == oldest)]
        start = _cursor_offset(str(args.get("cursor") or ""))
        if start is None:
            return _error("invalid_cursor")
        page = found[start : start + limit]
        shown = []
        for message in page:
            payload = _message_json(message)
            if not with_metadata:
                payload.pop("metadata", None)
            shown.append(payload)
        more = start + limit < len(found)
        return _ok(
            messages=shown,
            has_more=more,
            response_metadata={"next_cursor": _cursor(start + limit) if more else ""},
        )

    def list_channels(args: dict[str, Any]) -> JSONResponse:
        with state.lock:
            channels = [{"id": cid, "name": name} for cid, name in state.channels.items()]
        return _ok(channels=channels, response_metadata={"next_cursor": ""})

    def users_info(args: dict[str, Any]) -> JSONResponse:
        user = state.user(str(args.get("user") or ""))
        return _ok(user=user) if user is not None else _error("user_not_found")

    def auth_test(args: dict[str, Any]) -> JSONResponse:
        return _ok(
            url="https://slaflow-standin.slack.com/",
            team="slaflow stand-in",
            user="slaflow",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def views_open(args: dict[str, Any]) -> JSONResponse:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                return _error("invalid_arguments")
        trigger_id = str(args.get("trigger_id") or "")
        if not trigger_id or not isinstance(view, dict):
            return _error("invalid_arguments")
        if view.get("type") != "modal" or not view.get("title") or not view.get("blocks"):
            return _error("invalid_arguments")
        with state.lock:
            issued = state.triggers.pop(trigger_id, None)
            if issued is None:
                return _error("invalid_trigger_id")  # unknown, or already exchanged
            at, user = issued
            if time.monotonic() - at > TRIGGER_TTL_SECONDS:
                return _error("expired_trigger_id")
            view_id = "V" + uuid.uuid4().hex[:10].upper()
            stored: dict[str, Any] = {
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
            state.views[view_id] = stored
        return _ok(view={k: v for k, v in stored.items() if k not in ("user", "open", "errors")})

    methods = {
        "auth.test": auth_test,
        "chat.postMessage": lambda args: post_message(args, ephemeral=False),
        "chat.postEphemeral": lambda args: post_message(args, ephemeral=True),
        "chat.update": update_message,
        "conversations.history": lambda args: conversation(args, replies=False),
        "conversations.list": list_channels,
        "conversations.replies": lambda args: conversation(args, replies=True),
        "users.info": users_info,
        "views.open": views_open,
        "apps.connections.open": lambda args: _error("invalid_auth"),  # see open_connection
    }

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def api(method: str, request: Request) -> JSONResponse:
        failure = state.take_failure(method)
        if failure is not None:
            if failure.status == 429 or failure.error == "ratelimited":
                headers = {"Retry-After": str(failure.retry_after)}
                return _error("ratelimited", 429, headers)
            return _error(failure.error, failure.status)
        handler = methods.get(method)
        if handler is None:
            return _error("unknown_method")
        try:
            args = await _arguments(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("invalid_json")
        token = _token(request, args)
        if not token:
            return _error("not_authed")
        if method == "apps.connections.open":
            return open_connection(token)
        if not hmac.compare_digest(token, bot_token):
            return _error("invalid_auth")
        return handler(args)

    def open_connection(token: str) -> JSONResponse:
        """apps.connections.open: app-level tokens only, as in Slack."""
        if hmac.compare_digest(token, bot_token):
            return _error("not_allowed_token_type")
        if not hmac.compare_digest(token, str(app.state.app_token)):
            return _error("invalid_auth")
        hub: SocketHub | None = app.state.socket_hub
        if hub is None:
            return _error("internal_error")
        return _ok(url=hub.issue_url())

    @app.get("/_standin/messages")
    async def list_messages(channel: str | None = None) -> list[dict[str, Any]]:
        with state.lock:
            channel_id = state.resolve_channel(channel, create=False) if channel else None
            return [asdict(m) for m in state.messages if channel is None or m.channel == channel_id]

    @app.post("/_standin/fail")
    async def inject_failure(failure: dict[str, Any]) -> dict[str, Any]:
        known = set(Failure.__dataclass_fields__) - {"injected_at"}
        entry = Failure(**{k: v for k, v in failure.items() if k in known})
        with state.lock:
            state.failures.append(entry)
        return {"ok": True, "failure": asdict(entry)}

    @app.post("/_standin/users")
    async def add_user(user: dict[str, Any]) -> dict[str, Any]:
        record = _user_record(
            str(user["id"]), str(user.get("name") or user["id"]), user.get("email")
        )
        with state.lock:
            state.users[record["id"]] = record
        return {"ok": True, "user": record}

    @app.post("/_standin/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"ok": True}

    def slack_user(user_id: str) -> dict[str, Any]:
        record = state.user(user_id) or {}
        name = str(record.get("name") or user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    def issue_response_url(request: Request, user_id: str, channel_id: str | None) -> str:
        response_id = uuid.uuid4().hex
        with state.lock:
            state.response_urls[response_id] = {"user": user_id, "channel": channel_id}
        return f"{str(request.base_url).rstrip('/')}/_standin/response/{response_id}"

    async def forward(url: str | None, what: str, body: bytes) -> dict[str, Any]:
        """Sign `body` now and post it to the app as Slack would; what the app answered."""
        if not url:
            return {"ok": False, "error": f"no {what} configured"}
        headers = sign_request(app.state.signing_secret, body)
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

    def socket() -> SocketHub | None:
        """The Socket Mode hub, when an app is connected to it: then events go there."""
        hub: SocketHub | None = app.state.socket_hub
        return hub if hub is not None and hub.connected else None

    async def over_socket(hub: SocketHub, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An envelope to the connected app; its ack's payload is the app's answer."""
        try:
            delivery = await hub.push(kind, payload)
        except ConnectionError as exc:
            return {"ok": False, "error": f"Socket Mode: {exc}"}
        envelope_id = delivery.envelope["envelope_id"]
        if delivery.ack is None:
            return {"ok": False, "error": f"the app did not acknowledge {envelope_id} within 3 s"}
        body = delivery.ack.get("payload")
        return {
            "ok": True,
            "status": 200,
            "body": body,
            "via": "socket_mode",
            "envelope_id": envelope_id,
        }

    async def interact(payload: dict[str, Any]) -> dict[str, Any]:
        hub = socket()
        if hub is not None:
            return await over_socket(hub, "interactive", payload)
        url = app.state.interaction_url
        return await forward(url, "interaction_url", interaction_body(payload))

    def _recorded(kind: str, payload: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        with state.lock:
            state.interactions.append({"kind": kind, "payload": payload, "result": result})
        return result

    @app.post("/_standin/click")
    async def click(request: Request) -> JSONResponse:
        """Click a message's button as `user`: the signed block_actions goes to interaction_url.

        Body (JSON): channel, ts, action_id, and optionally user (default U0STANDIN)."""
        args = await _arguments(request)
        user_id = str(args.get("user") or DEFAULT_CLICKER).strip()
        message = state.find_message(str(args.get("channel") or ""), str(args.get("ts") or ""))
        if message is None:
            return _error("message_not_found", 404)
        button = next(
            (b for b in _buttons(message.blocks) if b["action_id"] == args.get("action_id")), None
        )
        if button is None:
            return _error("action_not_found", 404)
        trigger_id = state.issue_trigger(user_id)
        response_url = issue_response_url(request, user_id, message.channel)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": slack_user(user_id),
            "api_app_id": APP_ID,
            "token": "standin-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": message.ephemeral_to is not None,
                **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
            },
            "trigger_id": trigger_id,
            "team": {"id": TEAM_ID, "domain": "slaflow-standin"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel, "name": message.channel_name},
            "message": _message_json(message),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": button["block_id"],
                    "text": button["element"].get("text"),
                    "value": button["value"],
                    **({"style": button["style"]} if button["style"] else {}),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        result = await interact(payload)
        result = _recorded("block_actions", payload, result)
        if not result["ok"]:
            return JSONResponse(result, status_code=502)
        return JSONResponse({**result, "trigger_id": trigger_id, "response_url": response_url})

    @app.post("/_standin/submit")
    async def submit(request: Request) -> JSONResponse:
        """Submit an open modal: body (JSON) view_id and values {block_id: {action_id: text}}."""
        args = await _arguments(request)
        with state.lock:
            view = state.views.get(str(args.get("view_id") or ""))
            if view is None or not view["open"]:
                return _error("view_not_found", 404)
            view = dict(view)
        given: dict[str, Any] = args["values"] if isinstance(args.get("values"), dict) else {}
        values: dict[str, Any] = {}
        for field_ in _inputs(view):
            text = (given.get(field_["block_id"]) or {}).get(field_["action_id"])
            values.setdefault(field_["block_id"], {})[field_["action_id"]] = {
                "type": "plain_text_input",
                "value": text if text not in ("", None) else None,
            }
        user_id = str(view["user"])
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "slaflow-standin"},
            "user": slack_user(user_id),
            "api_app_id": APP_ID,
            "token": "standin-verification-token",
            "trigger_id": state.issue_trigger(user_id),
            "view": {
                **{k: v for k, v in view.items() if k not in ("user", "open", "errors")},
                "state": {"values": values},
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        result = await interact(payload)
        result = _recorded("view_submission", payload, result)
        if not result["ok"]:
            return JSONResponse(result, status_code=502)
        body = result.get("body")
        errors = body.get("errors") if isinstance(body, dict) else None
        closed = result["status"] == 200 and not (
            isinstance(body, dict) and body.get("response_action") == "errors"
        )
        with state.lock:
            stored = state.views[view["id"]]
            stored["open"] = not closed
            stored["errors"] = errors or {}
        return JSONResponse({**result, "closed": closed})

    @app.post("/_standin/command")
    async def command(request: Request) -> JSONResponse:
        """Run a slash command as `user`: body (JSON) command (default /sla), text, user,
        channel. The app's immediate answer is returned and recorded like a response_url post."""
        args = await _arguments(request)
        user_id = str(args.get("user") or DEFAULT_CLICKER).strip()
        channel_id = state.resolve_channel(str(args.get("channel") or "#general"))
        response_url = issue_response_url(request, user_id, channel_id)
        form = {
            "token": "standin-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "slaflow-standin",
            "channel_id": channel_id or "",
            "channel_name": state.channels.get(channel_id or "", ""),
            "user_id": user_id,
            "user_name": slack_user(user_id)["name"],
            "command": str(args.get("command") or "/sla"),
            "text": str(args.get("text") or ""),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": state.issue_trigger(user_id),
        }
        hub = socket()
        if hub is not None:
            result = await over_socket(hub, "slash_commands", form)
        else:
            result = await forward(app.state.command_url, "command_url", urlencode(form).encode())
        result = _recorded("slash_command", form, result)
        if not result["ok"]:
            return JSONResponse(result, status_code=502)
        if result["status"] == 200 and isinstance(result.get("body"), dict):
            record_response(response_url.rpartition("/")[2], result["body"])
        return JSONResponse({**result, "response_url": response_url})

    def record_response(response_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        with state.lock:
            issued = state.response_urls.get(response_id)
            if issued is None:
                return None
            entry = {
                "id": response_id,
                "at": time.strftime("%H:%M:%S"),
                "user": issued["user"],
                "channel": issued["channel"],
                "body": body,
            }
            state.responses.append(entry)
            return entry

    @app.post("/_standin/response/{response_id}")
    async def response_url(response_id: str, request: Request) -> JSONResponse:
        """A response_url: records what the app says to the clicker (JSON, as Slack takes it)."""
        try:
            body = json.loads(await request.body() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("invalid_json", 400)
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return _error("no_text", 400)
        if record_response(response_id, body) is None:
            return _error("expired_url", 404)
        return _ok()

    @app.get("/_standin/responses")
    async def list_responses() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.responses)

    @app.get("/_standin/views")
    async def list_views() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(v) for v in state.views.values()]

    @app.get("/_standin/interactions")
    async def list_interactions() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.interactions)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        with state.lock:
            messages = list(state.messages)
            channels = sorted(state.channels.items(), key=lambda item: item[1])
        roots: dict[str, list[StoredMessage]] = {channel_id: [] for channel_id, _ in channels}
        replies: dict[tuple[str, str], list[StoredMessage]] = {}
        parents = {(m.channel, m.ts) for m in messages if not m.thread_ts}
        for m in messages:
            if m.thread_ts and (m.channel, m.thread_ts) in parents:
                replies.setdefault((m.channel, m.thread_ts), []).append(m)
            else:
                roots.setdefault(m.channel, []).append(m)
        with state.lock:
            open_views = [dict(v) for v in state.views.values() if v["open"]]
            responses = list(state.responses)
        users = [
            {"id": user_id, "name": (state.user(user_id) or {}).get("real_name", "")}
            for user_id in state.known_user_ids()
        ]
        return _PAGE.render(
            channels=channels,
            roots=roots,
            replies=replies,
            messages=messages,
            interaction_url=app.state.interaction_url,
            command_url=app.state.command_url,
            users=users,
            default_user=users[0]["id"] if users else DEFAULT_CLICKER,
            open_views=open_views,
            responses=responses,
        )

    return app


class SlackStandin:
    """Serves a stand-in app with uvicorn on `host:port` from a background thread.

    A thread (not a task on the caller's loop) so it serves while sync code blocks and keeps
    serving across pytest-asyncio's session loop. Port 0 picks a free port; `port`, `url` and
    `base_url` (for `AsyncWebClient(base_url=...)`) are the real ones after `start()`.
    """

    def __init__(
        self,
        signing_secret: str = "local-signing-secret",
        bot_token: str = "xoxb-local-development",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interaction_url: str | None = None,
        command_url: str | None = None,
        app: FastAPI | None = None,
        app_token: str = "xapp-local-development",
    ) -> None:
        self.host = host
        self._port = port
        self.app = app or create_slack_standin(
            signing_secret, bot_token, interaction_url, command_url=command_url, app_token=app_token
        )
        self.socket_hub = SocketHub(host)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> StandinState:
        state: StandinState = self.app.state.standin
        return state

    @property
    def interaction_url(self) -> str | None:
        """Where clicks and modal submissions go (the app's ``/slack/interactions``)."""
        url: str | None = self.app.state.interaction_url
        return url

    @interaction_url.setter
    def interaction_url(self, url: str | None) -> None:
        self.app.state.interaction_url = url

    @property
    def command_url(self) -> str | None:
        """Where slash commands go (the app's ``/slack/commands``)."""
        url: str | None = self.app.state.command_url
        return url

    @command_url.setter
    def command_url(self, url: str | None) -> None:
        self.app.state.command_url = url

    def add_user(self, user_id: str, name: str, email: str | None = None) -> None:
        """Register a workspace user (the page offers registered users as clickers)."""
        with self.state.lock:
            self.state.users[user_id] = _user_record(user_id, name, email)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def start(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            raise RuntimeError("Slack stand-in already running")
        config = uvicorn.Config(
            self.app, host=self.host, port=self._port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="slack-standin", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"Slack stand-in did not start on {self.host}:{self._port}")
            time.sleep(0.01)
        self._port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        self.socket_hub.start()
        self.app.state.socket_hub = self.socket_hub

    def stop(self) -> None:
        self.socket_hub.stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
