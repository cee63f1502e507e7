"""Socket Mode against the stand-in's websocket, offline: envelopes in, acks out within 3 s.

The cockpit's command handlers are replaced by recorders (no Temporal here); the integration
test (tests/integration/test_slack_socket_mode.py) clicks through to a real ticket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from activities.db import create_tables, make_engine
from slaflow.settings import Settings
from standins.slack_api import SlackStandin
from starter.slack_cockpit import SlackCockpit
from starter.slack_socket import SlackSocketMode, app_token_of
from tests.api.test_slack_signature import MustNotConnect

BOT_TOKEN = "xoxb-socket-test"
APP_TOKEN = "xapp-1-socket-test"


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with SlackStandin("unused-in-socket-mode", BOT_TOKEN, port=0, app_token=APP_TOKEN) as slack:
        yield slack


def _settings(tmp_path: Path, standin: SlackStandin, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "temporal_address": "127.0.0.1:1",
        "slack_base_url": standin.base_url,
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_socket_mode": True,
        "slack_app_token": SecretStr(APP_TOKEN),
        **overrides,
    }
    return Settings(_env_file=None, **values)


class Recorded:
    def __init__(self) -> None:
        self.clicks: list[dict[str, Any]] = []
        self.submissions: list[dict[str, Any]] = []


@pytest.fixture
async def connected(
    tmp_path: Path, standin: SlackStandin
) -> AsyncIterator[tuple[SlackSocketMode, Recorded]]:
    settings = _settings(tmp_path, standin)
    engine = make_engine(settings.resolved_database_url)
    create_tables(engine)
    cockpit = SlackCockpit(settings, engine, MustNotConnect(settings).client)
    recorded = Recorded()

    async def click(payload: dict[str, Any]) -> None:
        recorded.clicks.append(payload)

    async def submission(payload: dict[str, Any]) -> None:
        recorded.submissions.append(payload)

    cockpit.on_block_action = click  # type: ignore[method-assign]
    cockpit.on_view_submission = submission  # type: ignore[method-assign]
    socket = SlackSocketMode(settings, cockpit)
    await socket.start()
    deadline = time.monotonic() + 10
    while not (await socket.connected() and standin.socket_hub.connected):
        assert time.monotonic() < deadline, "Socket Mode did not connect to the stand-in"
        await asyncio.sleep(0.05)
    yield socket, recorded
    await socket.stop()
    engine.dispose()


CLICK = {
    "type": "block_actions",
    "user": {"id": "UAGE1"},
    "trigger_id": "1.2.abc",
    "response_url": "http://slack.invalid/response/1",
    "actions": [{"action_id": "acknowledge", "value": "T-1", "type": "button"}],
}


async def test_a_click_envelope_is_acknowledged_at_once_and_handed_to_the_cockpit(
    connected: tuple[SlackSocketMode, Recorded], standin: SlackStandin
) -> None:
    _, recorded = connected
    delivery = await standin.socket_hub.push("interactive", CLICK)

    assert delivery.ack is not None, "no ack within 3 s"
    assert delivery.ack["envelope_id"] == delivery.envelope["envelope_id"]
    assert delivery.ack_seconds is not None and delivery.ack_seconds < 3
    for _ in range(100):
        if recorded.clicks:
            break
        await asyncio.sleep(0.02)
    assert recorded.clicks == [CLICK]  # the same payload the HTTP endpoint hands over


async def test_an_unusable_modal_is_kept_open_through_the_ack(
    connected: tuple[SlackSocketMode, Recorded], standin: SlackStandin
) -> None:
    _, recorded = connected
    metadata = '{"command":"resolve","ticket_id":"T-1","response_url":null,"channel_id":null}'
    submission = {
        "type": "view_submission",
        "user": {"id": "UAGE1"},
        "view": {
            "callback_id": "slaflow_command",
            "private_metadata": metadata,
            "state": {"values": {"text": {"value": {"type": "plain_text_input", "value": None}}}},
        },
    }
    delivery = await standin.socket_hub.push("interactive", submission)
    assert delivery.ack is not None
    assert delivery.ack["payload"] == {
        "response_action": "errors",
        "errors": {"text": "please write something"},
    }
    assert recorded.submissions == []


async def test_a_slash_command_is_answered_in_its_ack(
    connected: tuple[SlackSocketMode, Recorded], standin: SlackStandin
) -> None:
    async with httpx.AsyncClient(base_url=standin.url) as http:
        answer = await http.post(
            "/_standin/command", json={"text": "not a ticket!", "user": "UAGE1"}
        )
    result = answer.json()
    assert answer.status_code == 200 and result["via"] == "socket_mode", result
    assert result["body"]["response_type"] == "ephemeral"
    assert "is not a ticket id" in result["body"]["text"]
    [delivery] = standin.socket_hub.deliveries
    assert delivery.envelope["type"] == "slash_commands"
    assert delivery.envelope["payload"]["command"] == "/sla"
    assert delivery.ack is not None and delivery.ack["envelope_id"] == result["envelope_id"]


def test_apps_connections_open_wants_the_app_level_token(standin: SlackStandin) -> None:
    def call(token: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{standin.base_url}apps.connections.open",
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = answer.json()
        return body

    assert call(BOT_TOKEN) == {"ok": False, "error": "not_allowed_token_type"}
    assert call("xapp-wrong") == {"ok": False, "error": "invalid_auth"}
    opened = call(APP_TOKEN)
    assert opened["ok"] is True and opened["url"].startswith("ws://127.0.0.1:")
    assert "/link/?ticket=" in opened["url"]


def test_socket_mode_needs_an_app_level_token(tmp_path: Path, standin: SlackStandin) -> None:
    with pytest.raises(ValueError, match="SLAFLOW_SLACK_APP_TOKEN is not set"):
        app_token_of(_settings(tmp_path, standin, slack_app_token=None))
    with pytest.raises(ValueError, match="app-level token"):
        app_token_of(_settings(tmp_path, standin, slack_app_token=SecretStr(BOT_TOKEN)))


async def test_a_dropped_connection_is_reopened_and_envelopes_flow_again(
    connected: tuple[SlackSocketMode, Recorded], standin: SlackStandin
) -> None:
    socket, recorded = connected
    await asyncio.to_thread(standin.socket_hub.disconnect_all)  # as Slack does now and then
    deadline = time.monotonic() + 20
    while not (await socket.connected() and standin.socket_hub.connected):
        assert time.monotonic() < deadline, "Socket Mode did not reconnect"
        await asyncio.sleep(0.1)
    delivery = await standin.socket_hub.push("interactive", CLICK)
    assert delivery.ack is not None
    assert delivery.ack["envelope_id"] == delivery.envelope["envelope_id"]
    for _ in range(100):
        if recorded.clicks:
            break
        await asyncio.sleep(0.02)
    assert recorded.clicks == [CLICK]
