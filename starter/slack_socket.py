"""Socket Mode: Slack's clicks, modals and `/sla` over a websocket slaflow opens, for
organisations that cannot expose `/slack/interactions` and `/slack/commands` publicly.

With `SLAFLOW_SLACK_SOCKET_MODE=true` and an app-level token (`SLAFLOW_SLACK_APP_TOKEN`,
xapp-..., scope connections:write) the API process connects at startup (its lifespan) with
slack_sdk's aiohttp `SocketModeClient`: `apps.connections.open` gives a one-time websocket URL,
and Slack sends each event as an envelope there. No signature is checked: the websocket,
opened with the app token, is the authentication. Every envelope is acknowledged within
Slack's 3 s, carrying the same answer the HTTP endpoints would give (a modal's
`response_action`, the `/sla` text), and handed to the same `SlackCockpit` handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from slaflow.settings import Settings
from starter.slack_cockpit import Handler, SlackCockpit
from starter.slack_payloads import SlackPayloadInvalid

log = logging.getLogger("slaflow.slack")

__all__ = ["SlackSocketMode", "app_token_of", "socket_mode"]


def app_token_of(settings: Settings) -> str:
    """The app-level token Socket Mode needs; ValueError naming the setting otherwise."""
    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if not token:
        raise ValueError(
            "SLAFLOW_SLACK_SOCKET_MODE is on but SLAFLOW_SLACK_APP_TOKEN is not set "
            "(an app-level token, xapp-..., with the connections:write scope)"
        )
    if not token.startswith("xapp-"):
        raise ValueError("SLAFLOW_SLACK_APP_TOKEN must be an app-level token (xapp-...)")
    return token


class SlackSocketMode:
    """One Socket Mode connection feeding a `SlackCockpit`; `start()` and `stop()` it."""

    def __init__(self, settings: Settings, cockpit: SlackCockpit) -> None:
        self.settings = settings
        self.cockpit = cockpit
        self.app_token = app_token_of(settings)
        self.client: SocketModeClient | None = None
        self._work: set[asyncio.Task[None]] = set()
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start connecting, in the background: an unreachable Slack or a refused token is
        logged and retried every few seconds (the client also reconnects by itself when
        Slack drops or refreshes the link), and never holds up the API's startup."""
        client = SocketModeClient(
            app_token=self.app_token,
            web_client=AsyncWebClient(base_url=self.settings.slack_base_url, retry_handlers=[]),
            logger=log,
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self.client = client
        self._connecting = asyncio.create_task(client.connect())

    async def connected(self) -> bool:
        return self.client is not None and await self.client.is_connected()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        for task in [self._connecting, *self._work]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._work, return_exceptions=True)

    def _spawn(self, handler: Handler, payload: dict[str, Any]) -> None:
        """Run a cockpit handler after the envelope is acknowledged, keeping a reference."""
        task = asyncio.create_task(handler(payload))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def answer(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """What the ack of one envelope carries; the command itself runs afterwards."""
        if kind == "interactive":
            return self.cockpit.take_interaction(payload, self._spawn)
        if kind == "slash_commands":
            form = {k: str(v) for k, v in payload.items() if v is not None}
            return await self.cockpit.take_command(form)
        log.info("acknowledging a Slack %s envelope slaflow does not read", kind)
        return None

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        try:
            payload = await self.answer(req.type, req.payload)
        except SlackPayloadInvalid as exc:  # the clicker was told; Slack gets a plain ack
            log.warning("Slack %s envelope %s refused: %s", req.type, req.envelope_id, exc)
            payload = None
        except Exception:
            log.exception("Slack %s envelope %s failed", req.type, req.envelope_id)
            payload = None
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=payload)
        )


@asynccontextmanager
async def socket_mode(
    settings: Settings, cockpit: SlackCockpit
) -> AsyncIterator[SlackSocketMode | None]:
    """The API lifespan's Socket Mode connection while `slack_socket_mode` is on, else None."""
    if not settings.slack_socket_mode:
        yield None
        return
    socket = SlackSocketMode(settings, cockpit)
    await socket.start()
    try:
        yield socket
    finally:
        await socket.stop()
