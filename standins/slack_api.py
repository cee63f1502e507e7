"""A stand-in of the Slack Web API, served over real HTTP on 127.0.0.1.

No maintained Slack emulator exists, and Slack is unreachable here, so this answers the few
methods slaflow calls with Slack's own response shapes: ``{"ok": true, ...}`` or HTTP 200 with
``{"ok": false, "error": "..."}``, HTTP 429 with ``Retry-After`` when rate limited; bodies may be
form-encoded or JSON, auth is a Bearer token (or a ``token`` parameter). `AsyncWebClient(
base_url=standin.base_url)` talks to it unchanged.

Tests and the dev page drive it through ``/_standin/``: read the messages, inject failures
(``POST /_standin/fail``), reset. ``/`` is a plain HTML view of channels, messages and threads;
`interaction_url` is where a later page with buttons will post signed interactions to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

import jinja2
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

__all__ = ["SlackStandin", "StandinState", "create_slack_standin", "slack_signature"]

BOT_USER_ID = "U0SLAFLOW"
BOT_ID = "B0SLAFLOW"
TEAM_ID = "T0STANDIN"


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


@dataclass
class Failure:
    """An injected failure for `method` ("*" for any), served `times` times (None: until reset)."""

    method: str = "*"
    error: str = "internal_error"
    status: int = 200
    times: int | None = 1
    retry_after: int = 1


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
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.channels.clear()
            self.messages.clear()
            self.failures.clear()
            self.users.clear()
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
            for failure in self.failures:
                if failure.method in ("*", method):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
            return None

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


def _message_json(message: StoredMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "bot_id": BOT_ID,
        "text": message.text,
        "ts": message.ts,
        "team": TEAM_ID,
    }
    if message.blocks is not None:
        payload["blocks"] = message.blocks
    if message.thread_ts:
        payload["thread_ts"] = message.thread_ts
    if message.edited_ts:
        payload["edited"] = {"user": message.user, "ts": message.edited_ts}
    return payload


_TOKEN = re.compile(r"<(?:!date\^\d+\^[^|>]*\|([^>]*)|@([A-Z0-9]+)|[^|>]+\|([^>]*))>")


def _readable(text: str) -> str:
    """Slack's <!date^..|fallback>, <@U..> and <url|label> tokens as a person would read them."""
    plain = _TOKEN.sub(lambda m: m[1] or (f"@{m[2]}" if m[2] else m[3] or ""), text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_environment = jinja2.Environment(autoescape=True)
_environment.filters["readable"] = _readable
_PAGE = _environment.from_string(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>Slack stand-in</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}
.msg{border-left:3px solid #4a154b;padding:.3rem .8rem;margin:.6rem 0;white-space:pre-wrap}
.reply{margin-left:2rem;border-color:#999}.meta{color:#666;font-size:.8rem}
</style></head><body>
<h1>Slack stand-in</h1>
<p class="meta">{{ messages|length }} message(s).
{% if interaction_url %}Interactions go to {{ interaction_url }}.{% endif %}</p>
{% for channel_id, name in channels %}
<section><h2>#{{ name }} <span class="meta">{{ channel_id }}</span></h2>
{% for m in roots[channel_id] %}
  <div class="msg"><div class="meta">{{ m.ts }}{% if m.ephemeral_to %}
   · only visible to {{ m.ephemeral_to }}{% endif %}{% if m.edited_ts %} · edited{% endif %}</div>
  {{ m.text|readable }}
  {% for r in replies.get((channel_id, m.ts), []) %}
    <div class="msg reply"><div class="meta">{{ r.ts }}</div>{{ r.text|readable }}</div>
  {% endfor %}</div>
{% else %}<p class="meta">No messages.</p>{% endfor %}
</section>
{% endfor %}
</body></html>"""
)


def create_slack_standin(
    signing_secret: str,
    bot_token: str,
    interaction_url: str | None = None,
    *,
    channels: Iterable[str] = (),
    auto_create_channels: bool = True,
) -> FastAPI:
    """The stand-in app. `channels` exist from the start; with `auto_create_channels` any
    channel named "#..." or "C..." is created on first post, otherwise it is channel_not_found.
    """
    state = StandinState(auto_create=auto_create_channels, initial_channels=tuple(channels))
    state.reset()
    app = FastAPI(title="Slack Web API stand-in", docs_url=None, redoc_url=None)
    app.state.standin = state
    app.state.signing_secret = signing_secret
    app.state.interaction_url = interaction_url

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
            )
            state.messages.append(message)
        if ephemeral:
            return _ok(message_ts=message.ts)
        return _ok(channel=channel_id, ts=message.ts, message=_message_json(message))

    def update_message(args: dict[str, Any]) -> JSONResponse:
        channel_id = state.resolve_channel(str(args.get("channel") or ""))
        if channel_id is None:
            return _error("channel_not_found")
        with state.lock:
            found = next(
                (
                    m
                    for m in state.messages
                    if m.channel == channel_id and m.ts == args.get("ts") and not m.ephemeral_to
                ),
                None,
            )
            if found is None:
                return _error("message_not_found")
            if "text" in args:
                found.text = str(args["text"] or "")
            if "blocks" in args:
                found.blocks = args["blocks"]
            found.edited_ts = state.next_ts()
        return _ok(channel=channel_id, ts=found.ts, text=found.text, message=_message_json(found))

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

    methods = {
        "auth.test": auth_test,
        "chat.postMessage": lambda args: post_message(args, ephemeral=False),
        "chat.postEphemeral": lambda args: post_message(args, ephemeral=True),
        "chat.update": update_message,
        "users.info": users_info,
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
        if not hmac.compare_digest(token, bot_token):
            return _error("invalid_auth")
        return handler(args)

    @app.get("/_standin/messages")
    async def list_messages(channel: str | None = None) -> list[dict[str, Any]]:
        with state.lock:
            channel_id = state.resolve_channel(channel, create=False) if channel else None
            return [asdict(m) for m in state.messages if channel is None or m.channel == channel_id]

    @app.post("/_standin/fail")
    async def inject_failure(failure: dict[str, Any]) -> dict[str, Any]:
        known = set(Failure.__dataclass_fields__)
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
        return _PAGE.render(
            channels=channels,
            roots=roots,
            replies=replies,
            messages=messages,
            interaction_url=interaction_url,
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
        app: FastAPI | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.app = app or create_slack_standin(signing_secret, bot_token, interaction_url)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> StandinState:
        state: StandinState = self.app.state.standin
        return state

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

    def stop(self) -> None:
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
