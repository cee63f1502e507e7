"""Hostile input to the customer-message and reply routes: refused naming the field, before
anything reaches Temporal (the gateway fails the test if used)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_api_validation import api

__all__ = ["api"]


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/tickets/T-100/customer_message", {"text": 5}, "body.text: Input should"),
        ("/tickets/T-100/reply", {"note": "x" * 20001}, "body.note: String should"),
        ("/tickets/T-100/reply", {"extra": 1}, "body.extra: Extra inputs"),
        (
            "/tickets/T-100/customer_message",
            {"actor": "Mickey Mouse"},
            "body: Value error, actor: not accepted",
        ),
        (
            "/tickets/T-100/reply",
            {"actor": "Max Manager"},
            "body: Value error, actor: not accepted",
        ),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    api: httpx.AsyncClient, path: str, body: object, detail: str
) -> None:
    """Who wrote or replied comes from the credential: a body naming `actor` is refused too."""
    answer = await api.post(path, json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(detail)


async def test_a_message_for_no_valid_ticket_id_is_422(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets/..%2F/customer_message", json={})
    assert answer.status_code in (404, 422)
    answer = await api.post("/tickets/T%20100/reply", json={})
    assert answer.status_code == 422 and "ticket_id" in answer.json()["detail"]


async def test_the_routes_are_documented(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "/tickets/{ticket_id}/customer_message" in paths
    assert "/tickets/{ticket_id}/reply" in paths
