"""Slack's Socket Mode side, for the stand-in: a websocket server the app connects to.

Slack's protocol (docs.slack.dev, "Using Socket Mode"): the app calls `apps.connections.open`
with its app-level token and gets a one-time `wss://.../link/?ticket=...` URL; on connecting,
Slack says `{"type": "hello", ...}`; then each event arrives as an envelope
`{"envelope_id", "type": "interactive" | "slash_commands" | "events_api", "payload",
"accepts_response_payload"}`, which the app must acknowledge within 3 s by sending
`{"envelope_id": ..., "payload": {...}}` back (the payload is the answer: a slash command's
message, a modal's `response_action`).

`SocketHub` serves that on 127.0.0.1 with aiohttp (uvicorn here has no websocket support) on
its own thread and loop, like the stand-in's HTTP server. `push` sends an envelope to the
connected app and waits for its acknowledgement; every envelope and ack is kept in `deliveries`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["ACK_DEADLINE_SECONDS", "Delivery", "SocketHub"]

ACK_DEADLINE_SECONDS = 3.0
"""Slack's rule: an envelope not acknowledged within 3 s has failed (and is retried)."""


@dataclass
class Delivery:
    """One envelope pushed to the app, and its acknowledgement (None: none within 3 s)."""

    envelope: dict[str, Any]
    ack: dict[str, Any] | None = None
    ack_seconds: float | None = None


@dataclass
class _Connection:
    socket: web.WebSocketResponse
    waiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)


class SocketHub:
    """The stand-in's Socket Mode server. `issue_url()` answers `apps.connections.open`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, app_id: str = "A0SLAFLOW") -> None:
        self.host = host
        self.port = port
        self.app_id = app_id
        self.deliveries: list[Delivery] = []
        self.refused_tickets = 0
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle (from the owner's thread) --

    def start(self, timeout: float = 10.0) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                runner = loop.run_until_complete(self._serve())
            except BaseException as exc:  # report the bind error to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_until_complete(self._wait_stopped())
            loop.run_until_complete(self._close_all())
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="slack-socket-hub", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or failure:
            raise RuntimeError(f"Slack Socket Mode stand-in did not start: {failure}")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    async def _serve(self) -> web.AppRunner:
        self._stopped = asyncio.Event()
        app = web.Application()
        app.router.add_get("/link/", self._link)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        return runner

    async def _wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    # -- what apps.connections.open and the app see --

    def issue_url(self) -> str:
        """A one-time websocket URL, as `apps.connections.open` answers it."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def connected(self) -> int:
        with self._lock:
            return len(self._connections)

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)  # each URL connects once
            if not valid:
                self.refused_tickets += 1
        if not valid:
            return web.Response(status=401, text="invalid or used ticket")
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        connection = _Connection(socket)
        with self._lock:
            self._connections.append(connection)
        try:
            await socket.send_json(
                {
                    "type": "hello",
                    "num_connections": self.connected,
                    "debug_info": {"host": "slaflow-standin", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                try:
                    answer = message.json()
                except ValueError:
                    continue
                waiter = connection.waiting.pop(str(answer.get("envelope_id", "")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(answer)
        finally:
            with self._lock:
                self._connections.remove(connection)
        return socket

    # -- pushing events (from any thread or loop) --

    async def push(self, kind: str, payload: dict[str, Any]) -> Delivery:
        """Send one envelope to the connected app and wait up to 3 s for its ack."""
        if self._loop is None:
            raise RuntimeError("the Socket Mode stand-in is not running")
        future = asyncio.run_coroutine_threadsafe(self._push(kind, payload), self._loop)
        return await asyncio.wrap_future(future)

    async def _push(self, kind: str, payload: dict[str, Any]) -> Delivery:
        with self._lock:
            connection = self._connections[-1] if self._connections else None
        if connection is None:
            raise ConnectionError("no app is connected over Socket Mode")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": kind in ("interactive", "slash_commands"),
            "payload": payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        delivery = Delivery(envelope)
        with self._lock:
            self.deliveries.append(delivery)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        connection.waiting[envelope_id] = waiter
        sent = time.monotonic()
        await connection.socket.send_json(envelope)
        try:
            delivery.ack = await asyncio.wait_for(waiter, ACK_DEADLINE_SECONDS)
        except TimeoutError:
            connection.waiting.pop(envelope_id, None)
            return delivery
        delivery.ack_seconds = time.monotonic() - sent
        return delivery

    async def _close_all(self) -> None:
        with self._lock:
            sockets = [c.socket for c in self._connections]
        for socket in sockets:
            await socket.close()

    def disconnect_all(self) -> None:
        """Close every app connection (Slack does this now and then; apps reconnect)."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(timeout=10)
