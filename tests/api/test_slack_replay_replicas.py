"""Two API replicas on one database: a Slack request accepted by one is a replay to the other.

Slack requests are signed, not authenticated per replica, so a captured request could be sent
again to another replica behind the load balancer within the 5-minute window; the accepted
signatures live in the shared database (`slack_requests_seen`), so that replay is refused too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from activities.db import create_tables
from slaflow.settings import Settings
from standins.slack_api import sign_request
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_slack_signature import MustNotConnect

SECRET = "replicas-signing-secret"


def _replica(tmp_path: Path, store: str = "database") -> FastAPI:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,  # both replicas: the same SQLite file
        temporal_address="127.0.0.1:1",
        slack_signing_secret=SecretStr(SECRET),
        slack_replay_store=store,
    )
    app = create_app(settings)
    state = app_state(app)
    create_tables(state.engine)  # what the lifespan does first
    state.temporal = MustNotConnect(state.settings)
    return app


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with (
        _client(_replica(tmp_path)) as first,
        _client(_replica(tmp_path)) as second,
    ):
        yield first, second


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


def _slash(text: str) -> bytes:
    form: dict[str, Any] = {"command": "/sla", "text": text, "user_id": "UAGE1"}
    return urlencode(form).encode()


async def test_a_request_taken_by_one_replica_is_refused_by_the_other(
    replicas: tuple[httpx.AsyncClient, ...],
) -> None:
    first, second = replicas
    body = _slash("not a ticket!")  # answered without Temporal
    headers = sign_request(SECRET, body)

    taken = await first.post("/slack/commands", content=body, headers=headers)
    replayed = await second.post("/slack/commands", content=body, headers=headers)
    again = await first.post("/slack/commands", content=body, headers=headers)

    assert taken.status_code == 200 and "is not a ticket id" in taken.json()["text"]
    assert replayed.status_code == 401 and again.status_code == 401
    assert "replayed request" in replayed.json()["detail"]
    fresh = _slash("still not a ticket!")
    other = await second.post("/slack/commands", content=fresh, headers=sign_request(SECRET, fresh))
    assert other.status_code == 200


async def test_the_memory_store_only_protects_its_own_process(tmp_path: Path) -> None:
    """What `slack_replay_store=memory` gives up, shown: the other replica takes the replay."""
    body = _slash("not a ticket!")
    headers = sign_request(SECRET, body)
    async with (
        _client(_replica(tmp_path, "memory")) as first,
        _client(_replica(tmp_path, "memory")) as second,
    ):
        answers = [
            (await client.post("/slack/commands", content=body, headers=headers)).status_code
            for client in (first, second, first)
        ]
    assert answers == [200, 200, 401]
