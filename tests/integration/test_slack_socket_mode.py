"""Socket Mode end to end: a second API process, with Socket Mode on and no public endpoint in
use, connects to the stand-in's websocket; a click on the ticket's root message reaches it as
an `interactive` envelope, is acknowledged within 3 s, and acknowledges the real ticket.

While the socket is connected the stand-in delivers every click over it (as Slack does for an
app with Socket Mode on); the fixture disconnects it afterwards, so other tests use HTTP again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from slaflow.settings import Settings
from standins.slack_api import SlackStandin, StoredMessage
from starter.api.main import create_app
from starter.slack_socket import SlackSocketMode
from tests.integration.conftest import click, eventually, ticket_message
from tests.integration.test_slack_interactions import AGENT, _actions, _answer, _open

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]
APP_TOKEN = "xapp-local-development"  # the stand-in's default app-level token


@pytest.fixture
async def socket_api(settings: Settings, worker: None, slack: SlackStandin) -> AsyncIterator[None]:
    """An API process in Socket Mode (lifespan included) next to the session's."""
    socket_settings = settings.model_copy(
        update={"slack_socket_mode": True, "slack_app_token": SecretStr(APP_TOKEN)}
    )
    app = create_app(socket_settings)
    async with app.router.lifespan_context(app):
        socket: SlackSocketMode = app.state.slack_socket

        async def connected() -> bool:
            return await socket.connected() and slack.socket_hub.connected == 1

        await eventually(connected, what="the Socket Mode connection to the stand-in")
        yield

    async def disconnected() -> bool:  # the stand-in sees the close a moment later
        return slack.socket_hub.connected == 0

    await eventually(disconnected, what="the stand-in to see the Socket Mode connection close")


async def test_a_click_over_socket_mode_acknowledges_the_ticket(
    socket_api: None,
    api: httpx.AsyncClient,
    slack: SlackStandin,
    standin: httpx.AsyncClient,
    new_ticket: NewTicket,
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)
    before = len(slack.socket_hub.deliveries)

    clicked = await click(standin, where, "acknowledge", AGENT[0])

    assert clicked["via"] == "socket_mode", clicked
    [delivery] = slack.socket_hub.deliveries[before:]
    assert delivery.envelope["type"] == "interactive"
    assert delivery.envelope["payload"]["actions"][0]["action_id"] == "acknowledge"
    assert delivery.ack is not None and delivery.ack["envelope_id"] == clicked["envelope_id"]
    assert delivery.ack_seconds is not None and delivery.ack_seconds < 3
    answer = await _answer(standin, clicked["response_url"])
    assert answer.startswith(f"done: acknowledged ticket {opened.ticket_id}"), answer
    state = (await api.get(f"/tickets/{opened.ticket_id}")).json()
    assert state["status"] == "acknowledged" and state["acknowledged_by"] == AGENT[1]

    async def rewritten() -> StoredMessage | None:
        message = slack.state.find_message(*where)
        return message if message is not None and message.edited_ts else None

    root = await eventually(rewritten, what="the root message rewritten")
    assert "acknowledge" not in _actions(root.blocks)
    started = time.monotonic()
    shown = await standin.post(
        "/_standin/command", json={"text": opened.ticket_id, "user": AGENT[0]}
    )
    assert shown.json()["via"] == "socket_mode" and time.monotonic() - started < 3
    assert "Status: *acknowledged*" in shown.json()["body"]["text"]
