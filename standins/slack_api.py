"""A stand-in of the Slack Web API, served over real HTTP on 127.0.0.1.

No maintained Slack emulator exists, and Slack is unreachable here, so this answers the few
methods slaflow calls with Slack's own response shapes: ``{"ok": true, ...}`` or HTTP 200 with
``{"ok": false, "error": "..."}``, HTTP 429 with ``Retry-After`` when rate limited; bodies may be
form-encoded or JSON, auth is a Bearer token (or a ``token`` parameter). `AsyncWebClient(
base_url=standin.base_url)` talks to it unchanged. A user id as a channel (or
``conversations.open``) is the app's direct-message channel with that person.

The pieces: the workspace (`slack_state`, kept in a SQLite file by `slack_store` when given a
`state_path`), the Web API methods (`slack_methods`), the person clicking (`slack_interactions`:
signed ``block_actions``, modal submissions, slash commands, or Socket Mode envelopes through
`slack_socket`), and the page at ``/`` (`slack_page`, Block Kit by `slack_blocks`, mrkdwn by
`slack_mrkdwn`). Tests drive it through ``/_standin/``: read the messages, inject failures
(``POST /_standin/fail``), reset.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from standins import slack_interactions, slack_page
from standins.slack_interactions import arguments, interaction_body, sign_request, slack_signature
from standins.slack_methods import METHODS, TRIGGER_TTL_SECONDS, error, ok
from standins.slack_socket import SocketHub
from standins.slack_state import (
    BOT_USER_ID,
    DEFAULT_CLICKER,
    Failure,
    StandinState,
    StoredMessage,
)
from standins.slack_store import StateStore

__all__ = [
    "BOT_USER_ID",
    "DEFAULT_CLICKER",
    "TRIGGER_TTL_SECONDS",
    "SlackStandin",
    "StandinState",
    "StoredMessage",
    "create_slack_standin",
    "interaction_body",
    "sign_request",
    "slack_signature",
]

STATIC = Path(__file__).parent / "static"


def _state(request: Request) -> StandinState:
    state: StandinState = request.app.state.standin
    return state


def _token(request: Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = args.get("token")
    return str(token) if token else None


def _injected(state: StandinState, method: str) -> JSONResponse | None:
    """An injected failure's answer for `method`, if one is due."""
    failure = state.take_failure(method)
    if failure is None:
        return None
    if failure.status == 429 or failure.error == "ratelimited":
        return error("ratelimited", 429, {"Retry-After": str(failure.retry_after)})
    return error(failure.error, failure.status)


def _open_connection(request: Request, token: str) -> JSONResponse:
    """apps.connections.open: app-level tokens only, as in Slack."""
    app_state = request.app.state
    if hmac.compare_digest(token, app_state.bot_token):
        return error("not_allowed_token_type")
    if not hmac.compare_digest(token, str(app_state.app_token)):
        return error("invalid_auth")
    hub: SocketHub | None = app_state.socket_hub
    if hub is None:
        return error("internal_error")
    return ok(url=hub.issue_url())


web_api = APIRouter()


@web_api.api_route("/api/{method}", methods=["GET", "POST"])
async def api(method: str, request: Request) -> JSONResponse:
    state = _state(request)
    injected = _injected(state, method)
    if injected is not None:
        return injected
    handler = METHODS.get(method)
    if handler is None and method != "apps.connections.open":
        return error("unknown_method")
    try:
        args = await arguments(request)
    except ValueError:
        return error("invalid_json")
    token = _token(request, args)
    if not token:
        return error("not_authed")
    if handler is None:
        return _open_connection(request, token)
    if not hmac.compare_digest(token, request.app.state.bot_token):
        return error("invalid_auth")
    return handler(state, args)


control = APIRouter(prefix="/_standin")


@control.get("/messages")
async def list_messages(request: Request, channel: str | None = None) -> list[dict[str, Any]]:
    state = _state(request)
    with state.lock:
        channel_id = state.resolve_channel(channel, create=False) if channel else None
        return [asdict(m) for m in state.messages if channel is None or m.channel == channel_id]


@control.post("/fail")
async def inject_failure(request: Request, failure: dict[str, Any]) -> dict[str, Any]:
    known = set(Failure.__dataclass_fields__) - {"injected_at"}
    entry = Failure(**{k: v for k, v in failure.items() if k in known})
    state = _state(request)
    with state.lock:
        state.failures.append(entry)
    return {"ok": True, "failure": asdict(entry)}


@control.post("/users")
async def add_user(request: Request, user: dict[str, Any]) -> JSONResponse:
    if not isinstance(user.get("id"), str) or not user["id"]:
        return error("invalid_user", 400)
    email = user.get("email")
    record = _state(request).add_user(
        user["id"], str(user.get("name") or user["id"]), str(email) if email else None
    )
    return ok(user=record)


@control.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    _state(request).reset()
    return {"ok": True}


@control.get("/revision")
async def revision(request: Request) -> dict[str, int]:
    """A number that moves whenever the workspace changes (the page polls it)."""
    return {"revision": _state(request).revision}


@control.get("/responses")
async def list_responses(request: Request) -> list[dict[str, Any]]:
    state = _state(request)
    with state.lock:
        return list(state.responses)


@control.get("/views")
async def list_views(request: Request) -> list[dict[str, Any]]:
    state = _state(request)
    with state.lock:
        return [dict(v) for v in state.views.values()]


@control.get("/interactions")
async def list_interactions(request: Request) -> list[dict[str, Any]]:
    state = _state(request)
    with state.lock:
        return list(state.interactions)


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
    state_path: Path | None = None,
) -> FastAPI:
    """The stand-in app. `channels` exist from the start; with `auto_create_channels` any
    channel named "#..." or "C..." is created on first post, otherwise it is channel_not_found.
    Clicks go to `interaction_url` and slash commands to `command_url` (both may be set later
    through ``app.state``, e.g. once the app under test has a port). With `state_path` the
    workspace is kept in that SQLite file and found there again on the next start.
    """
    state = StandinState(
        auto_create=auto_create_channels,
        initial_channels=tuple(channels),
        store=StateStore(state_path),
    )
    app = FastAPI(title="Slack Web API stand-in", docs_url=None, redoc_url=None)
    app.state.standin = state
    app.state.signing_secret = signing_secret
    app.state.bot_token = bot_token
    app.state.interaction_url = interaction_url
    app.state.command_url = command_url
    app.state.app_token = app_token
    app.state.socket_hub = socket_hub
    app.include_router(web_api)
    app.include_router(control)
    app.include_router(slack_interactions.router)
    app.include_router(slack_page.router)
    app.mount("/_standin/static", StaticFiles(directory=STATIC), name="standin-static")
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
        state_path: Path | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.app = app or create_slack_standin(
            signing_secret,
            bot_token,
            interaction_url,
            command_url=command_url,
            app_token=app_token,
            state_path=state_path,
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
        self.state.add_user(user_id, name, email)

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
        """Stop serving and close the workspace file; to serve it again, make a new
        SlackStandin on the same `state_path`."""
        self.socket_hub.stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        state: StandinState | None = getattr(self.app.state, "standin", None)
        if state is not None:  # SlackStandin(app=...) may serve an app of another kind
            state.store.close()

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
