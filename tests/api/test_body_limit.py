"""Oversized bodies are refused with 413 before a route reads them, declared or chunked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import GOOD, MustNotConnect
from tests.api_support import auth_headers, auth_settings

LIMIT = 2048


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = auth_settings(
        data_dir=tmp_path, temporal_address="127.0.0.1:1", max_request_bytes=LIMIT
    )
    app = create_app(settings)
    app_state(app).temporal = MustNotConnect(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=auth_headers()
    ) as client:
        yield client


def _oversized_ticket() -> bytes:
    return httpx.Request("POST", "/", json={**GOOD, "description": "x" * LIMIT}).content


async def test_a_declared_oversized_body_is_413(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/tickets", content=_oversized_ticket(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"body: larger than the limit of {LIMIT} bytes"}


async def test_a_chunked_oversized_body_is_413(api: httpx.AsyncClient) -> None:
    body = _oversized_ticket()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    answer = await api.post(
        "/tickets", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "larger than the limit" in answer.json()["detail"]


async def test_a_body_under_the_limit_reaches_the_route(api: httpx.AsyncClient) -> None:
    # Read and validated by the route: 422 for the field, not 413.
    answer = await api.post("/tickets", json={**GOOD, "priority": "P9"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.priority")
