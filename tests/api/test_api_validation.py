"""Requests the API must refuse before anything reaches Temporal, and the OpenAPI document.

The app's Temporal gateway is replaced by one that fails the test when used: these paths are
validation only, and proving they never connect is part of the point (a bad body must get its
422 even while Temporal is down).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from slaflow.tickets import COMMANDS
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from tests.api_support import auth_headers, auth_settings

GOOD = {
    "ticket_id": "T-100",
    "customer": "ACME",
    "subject": "Checkout fails",
    "priority": "P1",
    "channel": "phone",
    "requester_email": "ops@acme.example",
}


class MustNotConnect(TemporalGateway):
    async def client(self) -> Any:
        raise AssertionError("a validation-only request reached for Temporal")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    state.temporal = MustNotConnect(state.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=auth_headers()
    ) as client:
        yield client


async def test_bad_priority_is_422_naming_the_field(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "priority": "P9"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"] == "body.priority: Input should be 'P1', 'P2', 'P3' or 'P4'"
    assert body["errors"][0]["loc"] == ["body", "priority"]


async def test_missing_customer_is_422_naming_the_field(api: httpx.AsyncClient) -> None:
    body = {k: v for k, v in GOOD.items() if k != "customer"}
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"] == "body.customer: Field required"


async def test_every_problem_is_named(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "channel": "fax", "requester_email": "x"})
    detail = answer.json()["detail"]
    assert "body.channel:" in detail and "body.requester_email:" in detail


async def test_unknown_field_is_refused(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "severity": "high"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.severity: Extra inputs are not permitted")


async def test_bad_ticket_id_in_body_and_path(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "ticket_id": "has space"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.ticket_id: String should match pattern")
    answer = await api.get("/tickets/-leading-dash")
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("path.ticket_id: String should match pattern")


async def test_naive_opened_at_is_refused(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "opened_at": "2026-03-02T09:00:00"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.opened_at:")


async def test_malformed_json_is_400_with_a_message(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/tickets", content=b'{"ticket_id": ', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("body: malformed JSON at character")


async def test_unknown_command_lists_the_valid_ones(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets/T-100/frobnicate", json={})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "unknown command 'frobnicate'" in detail
    assert all(name in detail for name in COMMANDS)


async def test_command_body_is_validated(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets/T-100/acknowledge", json={"actor": "Max Manager"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "actor: not accepted any more" in detail and "credential" in detail
    answer = await api.post("/tickets/T-100/acknowledge", json={"on_behalf_of": ""})
    assert answer.status_code == 422 and "body.on_behalf_of" in answer.json()["detail"]
    answer = await api.post("/tickets/T-100/change_priority", json={"priority": "P0"})
    assert answer.json()["detail"].startswith("body.priority: Input should be 'P1'")


async def test_list_filters_are_validated(api: httpx.AsyncClient) -> None:
    answer = await api.get("/tickets", params={"tier": "ceo", "limit": 0})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "query.tier: Input should be" in detail and "query.limit:" in detail


async def test_healthz_needs_nothing(api: httpx.AsyncClient) -> None:
    answer = await api.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


async def test_openapi_documents_routes_and_every_status(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths) >= {"/tickets", "/tickets/{ticket_id}", "/agreement", "/readyz"}
    for name, model in COMMANDS.items():
        operation = paths[f"/tickets/{{ticket_id}}/{name}"]["post"]
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert schema_ref.endswith("/" + model.__name__ + "Body")
        body = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
        assert "actor" not in body["properties"] and "on_behalf_of" in body["properties"]
        assert {"200", "400", "404", "409", "422", "503", "504"} <= set(operation["responses"])
    intake = paths["/tickets"]["post"]["responses"]
    assert {"200", "201", "400", "422", "503"} <= set(intake)
    assert paths["/tickets/{ticket_id}"]["get"]["responses"].keys() >= {"200", "404", "422"}
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["detail"]
    assert (await api.get("/docs")).status_code == 200


async def test_an_undecodable_body_is_400_saying_what_to_send(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/tickets", content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"detail": "body: could not be parsed; send UTF-8 encoded JSON"}


async def test_a_number_for_a_datetime_is_refused_naming_the_field(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post("/tickets", json={**GOOD, "opened_at": 0})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.opened_at: Value error, must be ISO 8601 text")


async def test_a_method_the_path_lacks_is_405_listing_every_method_it_has(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.delete("/tickets")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.json()["detail"] == "method DELETE not allowed here; allowed: GET, POST"
    explain = await api.post("/tickets/T-1/explain", json={})
    assert explain.status_code == 405
    assert explain.headers["Allow"] == "GET"


async def test_a_version_number_beyond_any_database_integer_is_422(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.get("/agreement/versions/11547932516212113408")
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("path.number: Input should be less than or equal")
