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
        ("/tickets/T-100/customer_message", {}, "body.actor: Field required"),
        ("/tickets/T-100/reply", {}, "body.actor: Field required"),
        ("/tickets/T-100/customer_message", {"actor": "c", "text": 5}, "body.text: Input should"),
        ("/tickets/T-100/reply", {"actor": "a", "note": "x" * 20001}, "body.note: String should"),
        ("/tickets/T-100/reply", {"actor": "a", "extra": 1}, "body.extra: Extra inputs"),
        ("/tickets/T-100/customer_message", {"actor": ""}, "body.actor: String should"),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    api: httpx.AsyncClient, path: str, body: object, detail: str
) -> None:
    answer = await api.post(path, json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(detail)


async def test_a_message_for_no_valid_ticket_id_is_422(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets/..%2F/customer_message", json={"actor": "c"})
    assert answer.status_code in (404, 422)
    answer = await api.post("/tickets/T%20100/reply", json={"actor": "a"})
    assert answer.status_code == 422 and "ticket_id" in answer.json()["detail"]


async def test_the_routes_are_documented(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "/tickets/{ticket_id}/customer_message" in paths
    assert "/tickets/{ticket_id}/reply" in paths
