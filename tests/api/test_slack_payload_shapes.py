"""Signed Slack payloads of unexpected shape (item 5 of the hardening issue): a 400 naming the
field and a word to the clicker, never a 500 or a background task that dies unseen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr

from activities.db import create_tables
from slaflow.settings import Settings
from standins.slack_api import interaction_body, sign_request
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from starter.slack_cockpit import ReplyTo

SECRET = "shape-test-signing-secret"
WHO = {"user": {"id": "UAGE1"}, "response_url": "http://slack.invalid/response/9"}


class MustNotConnect(TemporalGateway):
    async def client(self) -> Any:
        raise AssertionError("a refused Slack payload reached for Temporal")


@dataclass
class Api:
    http: httpx.AsyncClient
    told: list[tuple[ReplyTo, str]] = field(default_factory=list)
    state: Any = None


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        temporal_address="127.0.0.1:1",
        slack_signing_secret=SecretStr(SECRET),
    )
    app = create_app(settings)
    state = app_state(app)
    create_tables(state.engine)
    state.temporal = MustNotConnect(state.settings)
    transport = httpx.ASGITransport(app=app)  # an app exception fails the test
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        result = Api(http, state=state)

        async def reply(to: ReplyTo, text: str) -> None:
            result.told.append((to, text))

        state.slack.reply = reply  # type: ignore[method-assign]
        yield result


async def _interaction(api: Api, payload: dict[str, Any] | str) -> httpx.Response:
    if isinstance(payload, str):
        body = urlencode({"payload": payload}).encode()
    else:
        body = interaction_body(payload)
    return await api.http.post(
        "/slack/interactions", content=body, headers=sign_request(SECRET, body)
    )


@pytest.mark.parametrize(
    ("payload", "field_named"),
    [
        ({"type": "view_submission", **WHO, "view": "a string"}, "payload.view"),
        ({"type": "block_actions", **WHO, "actions": "acknowledge"}, "payload.actions"),
        ({"type": "block_actions", **WHO, "actions": [1, 2]}, "payload.actions.0"),
        ({"type": "block_actions", **WHO, "actions": [{"value": 5}]}, "payload.actions.0.value"),
        ({"type": "block_actions", **WHO, "channel": "C1", "actions": []}, "payload.channel"),
        (
            {"type": "view_submission", **WHO, "view": {"state": {"values": "x"}}},
            "payload.view.state.values",
        ),
    ],
)
async def test_an_odd_shape_is_400_naming_the_field_and_the_clicker_hears(
    api: Api, payload: dict[str, Any], field_named: str
) -> None:
    answer = await _interaction(api, payload)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(field_named + ":")
    [(to, text)] = api.told
    assert to.user_id == "UAGE1" and to.response_url == WHO["response_url"]
    assert text.startswith("failed: slaflow could not read what Slack sent")


async def test_a_deeply_nested_payload_is_400(api: Api) -> None:
    deep = '{"type": "block_actions", "actions": ' + "[" * 600 + "]" * 600 + "}"
    answer = await _interaction(api, deep)
    assert answer.status_code == 400
    assert "nested deeper than" in answer.json()["detail"]


@pytest.mark.parametrize("payload", ['"a string"', "NaN", "[1, 2]", "{"])
async def test_a_payload_that_is_no_object_is_400(api: Api, payload: str) -> None:
    answer = await _interaction(api, payload)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("payload")


async def test_an_unhashable_type_is_ignored_not_a_500(api: Api) -> None:
    answer = await _interaction(api, {"type": ["block_actions"], **WHO})
    assert answer.status_code == 200


async def test_a_handler_that_fails_tells_the_clicker_instead_of_dying(api: Api) -> None:
    async def broken(_: dict[str, Any]) -> None:
        raise KeyError("command")

    api.state.slack.on_block_action = broken
    payload = {"type": "block_actions", **WHO, "actions": [{"action_id": "acknowledge"}]}
    answer = await _interaction(api, payload)
    assert answer.status_code == 200
    [(to, text)] = api.told
    assert to.user_id == "UAGE1"
    assert "KeyError" in text


async def test_a_slash_command_of_odd_shape_is_400(api: Api) -> None:
    body = urlencode({"command": "/sla", "text": "x" * 20_000, "user_id": "U1"}).encode()
    answer = await api.http.post(
        "/slack/commands", content=body, headers=sign_request(SECRET, body)
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("command.text:")
