"""`/slack/interactions` and `/slack/commands` refuse whatever Slack did not sign, fresh, once.

The app runs without Temporal (its gateway fails the test when used) and the cockpit's
handlers are replaced by recorders, so "nothing changes" is checked directly: a refused
request schedules no command at all.
"""

from __future__ import annotations

import json
import time
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
from standins.slack_api import interaction_body, sign_request, slack_signature
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from starter.slack_cockpit import ReplayGuard

SECRET = "api-test-signing-secret"
CLICK = {
    "type": "block_actions",
    "user": {"id": "UAGE1", "name": "agent-1"},
    "trigger_id": "1.2.abc",
    "response_url": "http://slack.invalid/response/1",
    "channel": {"id": "C1", "name": "agents"},
    "actions": [{"action_id": "acknowledge", "value": "T-1", "type": "button"}],
}


class MustNotConnect(TemporalGateway):
    async def client(self) -> Any:
        raise AssertionError("a Slack request reached for Temporal during the request")


@dataclass
class Recorded:
    clicks: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Api:
    http: httpx.AsyncClient
    recorded: Recorded


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
    create_tables(state.engine)  # what the lifespan does first; the replay guard's table
    state.temporal = MustNotConnect(state.settings)
    recorded = Recorded()

    async def click(payload: dict[str, Any]) -> None:
        recorded.clicks.append(payload)

    async def submission(payload: dict[str, Any]) -> None:
        recorded.submissions.append(payload)

    state.slack.on_block_action = click  # type: ignore[method-assign]
    state.slack.on_view_submission = submission  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        yield Api(http, recorded)


async def _post(
    api: Api,
    body: bytes,
    headers: dict[str, str],
    path: str = "/slack/interactions",
) -> httpx.Response:
    return await api.http.post(path, content=body, headers=headers)


async def test_a_signed_click_is_taken_at_once_and_handled_afterwards(api: Api) -> None:
    body = interaction_body(CLICK)
    answer = await _post(api, body, sign_request(SECRET, body))
    assert answer.status_code == 200, answer.text
    assert answer.content == b""  # Slack wants an empty 200 for block_actions
    assert api.recorded.clicks == [CLICK]


async def test_wrong_secret_is_401(api: Api) -> None:
    body = interaction_body(CLICK)
    answer = await _post(api, body, sign_request("someone-elses-secret", body))
    assert answer.status_code == 401
    assert answer.json() == {"detail": "invalid X-Slack-Signature"}
    assert api.recorded.clicks == []


async def test_tampered_body_is_401(api: Api) -> None:
    body = interaction_body(CLICK)
    headers = sign_request(SECRET, body)
    forged = interaction_body({**CLICK, "user": {"id": "UMGM1", "name": "mgmt-1"}})
    answer = await _post(api, forged, headers)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "invalid X-Slack-Signature"
    assert api.recorded.clicks == []


# A future timestamp comes closer while the request runs: 310 s stays stale on a slow machine.
@pytest.mark.parametrize("offset", [-301, -3600, 310])
async def test_timestamp_more_than_five_minutes_away_is_401(api: Api, offset: int) -> None:
    body = interaction_body(CLICK)
    headers = sign_request(SECRET, body, timestamp=int(time.time()) + offset)  # correctly signed
    answer = await _post(api, body, headers)
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith("stale request:")
    assert api.recorded.clicks == []


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp", "both"])
async def test_missing_headers_are_401(api: Api, missing: str) -> None:
    body = interaction_body(CLICK)
    headers = sign_request(SECRET, body)
    for name in ("X-Slack-Signature", "X-Slack-Request-Timestamp"):
        if missing in (name, "both"):
            del headers[name]
    answer = await _post(api, body, headers)
    assert answer.status_code == 401
    assert answer.json()["detail"] == (
        "missing X-Slack-Request-Timestamp or X-Slack-Signature header"
    )
    assert api.recorded.clicks == []


async def test_malformed_timestamp_is_401(api: Api) -> None:
    body = interaction_body(CLICK)
    headers = {**sign_request(SECRET, body), "X-Slack-Request-Timestamp": "yesterday"}
    answer = await _post(api, body, headers)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "malformed X-Slack-Request-Timestamp"


async def test_replayed_request_is_401_and_runs_nothing_twice(api: Api) -> None:
    body = interaction_body(CLICK)
    headers = sign_request(SECRET, body)
    first = await _post(api, body, headers)
    again = await _post(api, body, headers)
    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["detail"].startswith("replayed request")
    assert len(api.recorded.clicks) == 1
    # The same click signed anew (Slack's own retry would be) is a new request.
    later = sign_request(SECRET, body, timestamp=int(time.time()) + 1)
    assert (await _post(api, body, later)).status_code == 200


async def test_signed_body_without_a_payload_is_400(api: Api) -> None:
    body = b"text=hello"
    answer = await _post(api, body, sign_request(SECRET, body))
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("payload:")


async def test_empty_modal_text_keeps_the_modal_open(api: Api) -> None:
    submission = {
        "type": "view_submission",
        "user": {"id": "UAGE1"},
        "view": {
            "callback_id": "slaflow_command",
            "private_metadata": json.dumps({"command": "resolve", "ticket_id": "T-1"}),
            "state": {"values": {"text": {"value": {"type": "plain_text_input", "value": " "}}}},
        },
    }
    body = interaction_body(submission)
    answer = await _post(api, body, sign_request(SECRET, body))
    assert answer.status_code == 200
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"text": "please write something"},
    }
    assert api.recorded.submissions == []

    filled = json.loads(json.dumps(submission))
    filled["view"]["state"]["values"]["text"]["value"]["value"] = "restarted the service"
    body = interaction_body(filled)
    answer = await _post(api, body, sign_request(SECRET, body))
    assert (answer.status_code, answer.content) == (200, b"")  # empty: Slack closes the modal
    assert api.recorded.submissions == [filled]


def _slash(text: str, user: str = "UAGE1") -> bytes:
    form = {"command": "/sla", "text": text, "user_id": user, "channel_id": "C1"}
    return urlencode(form).encode()


async def test_slash_command_is_verified_the_same_way(api: Api) -> None:
    body = _slash("T-1")
    unsigned = await _post(api, body, {}, "/slack/commands")
    wrong = await _post(api, body, sign_request("nope", body), "/slack/commands")
    headers = sign_request(SECRET, body, timestamp=int(time.time()) - 400)
    stale = await _post(api, body, headers, "/slack/commands")
    assert [r.status_code for r in (unsigned, wrong, stale)] == [401, 401, 401]


async def test_slash_command_answers_ephemerally(api: Api) -> None:
    body = _slash("not a ticket!")
    headers = sign_request(SECRET, body)
    answer = await _post(api, body, headers, "/slack/commands")
    assert answer.status_code == 200
    assert answer.json()["response_type"] == "ephemeral"
    assert "is not a ticket id" in answer.json()["text"]
    replay = await _post(api, body, headers, "/slack/commands")
    assert replay.status_code == 401


def test_standin_signature_is_what_slack_sdk_accepts() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = interaction_body(CLICK)
    headers = sign_request(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    stamp = headers["X-Slack-Request-Timestamp"]
    assert headers["X-Slack-Signature"] == slack_signature(SECRET, stamp, body)


def test_replay_guard_forgets_a_signature_once_its_timestamp_is_stale() -> None:
    now = [1_000_000.0]
    guard = ReplayGuard(window_seconds=300, clock=lambda: now[0])
    assert guard.first_time("v0=a", 1_000_000)
    assert not guard.first_time("v0=a", 1_000_000)
    now[0] += 299
    assert not guard.first_time("v0=a", 1_000_000)
    assert guard.first_time("v0=b", 1_000_299)
    now[0] += 2  # "a" is 301 s old: the timestamp check refuses it now, the set may forget it
    assert len(guard) == 1
    assert guard.first_time("v0=a", 1_000_000)  # (only reachable past the timestamp check)


async def test_without_a_signing_secret_every_request_is_401(tmp_path: Path) -> None:
    """An empty key is a known one: a request signed with it must not pass (issue 23)."""
    settings = Settings(_env_file=None, data_dir=tmp_path, temporal_address="127.0.0.1:1")
    assert settings.slack_signing_secret.get_secret_value() == ""
    app = create_app(settings)
    state = app_state(app)
    create_tables(state.engine)
    state.temporal = MustNotConnect(state.settings)
    transport = httpx.ASGITransport(app=app)
    body = interaction_body(CLICK)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        for secret in ("", "local-signing-secret"):
            answer = await http.post(
                "/slack/interactions", content=body, headers=sign_request(secret, body)
            )
            assert answer.status_code == 401
            assert answer.json() == {"detail": "no Slack signing secret is configured"}
