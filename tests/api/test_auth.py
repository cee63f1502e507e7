"""Every route but health and Slack's answers 401 without a token and 403 below its role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings

OPEN_PREFIXES = ("/healthz", "/readyz", "/slack/", "/docs", "/redoc", "/openapi.json")


def guarded_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) of every documented route that must ask for a token."""
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "T-1", path))
        for path, operations in app.openapi()["paths"].items()
        if not path.startswith(OPEN_PREFIXES)
        for method in operations
    ]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    app_state(app).temporal = MustNotConnect(app_state(app).settings)
    yield app


async def _call(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        return await http.request(method, path, headers=headers, json={})


async def test_every_guarded_route_answers_401_without_a_token(app: FastAPI) -> None:
    routes = guarded_routes(app)
    assert ("POST", "/tickets") in routes
    for method, path in routes:
        answer = await _call(app, method, path, {})
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization" in answer.json()["detail"]


async def test_an_unknown_token_is_401(app: FastAPI) -> None:
    answer = await _call(app, "GET", "/tickets/T-1", {"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["detail"] == "header.Authorization: unknown or revoked token"


@pytest.mark.parametrize(
    ("role", "method", "path", "needed"),
    [
        (Role.INTAKE, "GET", "/tickets/T-1", Role.AGENT),
        (Role.INTAKE, "POST", "/tickets/T-1/acknowledge", Role.AGENT),
        (Role.AGENT, "GET", "/agreement", Role.MANAGER),
        (Role.AGENT, "POST", "/amendments", Role.MANAGER),
    ],
)
async def test_a_role_too_low_is_403_naming_the_role_needed(
    app: FastAPI, role: Role, method: str, path: str, needed: Role
) -> None:
    answer = await _call(app, method, path, auth_headers(role))
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        f"this needs the {needed.value} role; the token's role is {role.value}"
    )


async def test_a_higher_role_passes_the_gate(app: FastAPI) -> None:
    # Past the gate, the request fails on its body (422), not on auth.
    answer = await _call(app, "POST", "/tickets", auth_headers(Role.MANAGER))
    assert answer.status_code == 422
