"""Customers, agreements and versions over HTTP, and intake refusing a customer no agreement
covers; hostile ids answer 4xx, never 5xx."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from activities import people_store, token_store
from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings

DEMO = Path(__file__).resolve().parents[2] / "agreements" / "demo"


async def _client(tmp_path: Path, agreements: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = auth_settings(
        data_dir=tmp_path, temporal_address="127.0.0.1:1", agreement_file=agreements
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # tables and every agreement's version 1
        app_state(app).temporal = MustNotConnect(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers()
        ) as client:
            yield client


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(tmp_path, DEMO):
        yield client


async def test_customers_and_their_agreements(api: httpx.AsyncClient) -> None:
    customers = (await api.get("/customers")).json()
    assert customers == [
        {"id": "acme", "name": "ACME Corp", "agreements": ["acme-gold"]},
        {"id": "globex", "name": "Globex Inc", "agreements": ["globex-hosting"]},
    ]
    acme = (await api.get("/customers/acme")).json()
    assert [a["id"] for a in acme["agreements"]] == ["acme-gold"]
    assert acme["agreements"][0]["in_force"] == 1
    globex = (await api.get("/agreements", params={"customer": "globex"})).json()
    assert [(a["id"], a["rules"][0]["services"]) for a in globex] == [
        ("globex-hosting", ["Hosting", "Backups"])
    ]
    every = (await api.get("/agreements")).json()
    assert [(a["id"], a["default"]) for a in every] == [
        ("acme-gold", False),
        ("default", True),
        ("globex-hosting", False),
    ]


async def test_one_agreement_its_versions_and_one_version(api: httpx.AsyncClient) -> None:
    acme = (await api.get("/agreements/acme-gold")).json()
    assert acme["customer"] == {"id": "acme", "name": "ACME Corp"}
    assert acme["version"]["document"]["objectives"]["P1"]["first_response"]["within"] == "30s"
    versions = (await api.get("/agreements/acme-gold/versions")).json()
    assert [(v["agreement_id"], v["number"]) for v in versions] == [("acme-gold", 1)]
    one = (await api.get("/agreements/globex-hosting/versions/1")).json()
    assert one["document"]["customer"] == "Globex Inc"


async def test_the_old_single_agreement_routes_answer_for_the_default(
    api: httpx.AsyncClient,
) -> None:
    old = (await api.get("/agreement")).json()
    assert old["agreement_id"] == "default" and old["document"]["customer"] == "Demo Customer Ltd"
    assert [v["agreement_id"] for v in (await api.get("/agreement/versions")).json()] == ["default"]


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/customers/nope", 404, "customer 'nope' does not exist"),
        ("/customers/ACME", 422, "customer_id"),
        ("/customers/acme%20corp", 422, "customer_id"),
        ("/customers/-acme", 422, "customer_id"),
        ("/customers/" + "a" * 65, 422, "customer_id"),
        ("/customers/%C3%A4", 422, "customer_id"),
        ("/customers/a%2Fb", 404, ""),
        ("/agreements/nope", 404, "agreement 'nope' does not exist"),
        ("/agreements/nope/versions", 404, "agreement 'nope' does not exist"),
        ("/agreements/acme-gold/versions/2", 404, "agreement 'acme-gold' has no version 2"),
        ("/agreements/acme-gold/versions/0", 422, "number"),
        ("/agreements/acme-gold/versions/99999999999999999999", 422, "number"),
        ("/agreements/Acme_Gold", 422, "agreement_id"),
        ("/agreements?customer=%27%20OR%201%3D1", 422, "customer"),
    ],
)
async def test_hostile_ids_are_4xx_naming_the_field(
    api: httpx.AsyncClient, path: str, status: int, detail: str
) -> None:
    answer = await api.get(path)
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]


TICKET = {
    "ticket_id": "T-1",
    "subject": "Checkout fails",
    "priority": "P1",
    "channel": "email",
    "requester_email": "buyer@example.com",
}


async def test_intake_refuses_a_customer_no_agreement_covers(tmp_path: Path) -> None:
    only_acme = tmp_path / "agreements"
    only_acme.mkdir()
    shutil.copy(DEMO / "acme.yaml", only_acme / "acme.yaml")
    async for api in _client(tmp_path, only_acme):
        answer = await api.post("/tickets", json={**TICKET, "customer": "globex"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == (
            "customer: customer 'globex' has no agreement and there is no default agreement"
        )
        old = await api.get("/agreement")
        assert old.status_code == 404
        assert "every customer's agreement: GET /agreements" in old.json()["detail"]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"service": ""}, "body.service"),
        ({"service": "x" * 201}, "body.service"),
        ({"tags": ["ok", ""]}, "body.tags.1"),
        ({"tags": ["a\nb"]}, "body.tags.0"),
        ({"tags": [str(i) for i in range(21)]}, "body.tags"),
        ({"tags": "vip"}, "body.tags"),
    ],
)
async def test_intake_refuses_bad_service_and_tags(
    api: httpx.AsyncClient, fields: dict[str, object], detail: str
) -> None:
    answer = await api.post("/tickets", json={**TICKET, "customer": "acme", **fields})
    assert answer.status_code == 422, answer.text
    assert detail in answer.json()["detail"]


async def test_ticket_list_refuses_an_odd_agreement_filter(api: httpx.AsyncClient) -> None:
    answer = await api.get("/tickets", params={"agreement": "x' OR 1=1"})
    assert answer.status_code == 422
    assert "agreement" in answer.json()["detail"]


async def test_an_amendment_of_a_customer_agreement_is_signed_by_its_parties(
    api: httpx.AsyncClient,
) -> None:
    acme = (await api.get("/agreements/acme-gold")).json()["version"]["document"]
    engine = app_state(api._transport.app).engine  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    pat = people_store.add_person(engine, "Pat", "pat@example.com", None, now)
    token = token_store.create_token(engine, "pat", Role.MANAGER, now, pat.id).token
    api.headers["Authorization"] = f"Bearer {token}"
    body = {
        "amendment_id": "A-acme-1",
        "proposer": "pat@example.com",
        "agreement": acme,
        "rationale": "faster P1",
        "signatories": [{"name": "Eve", "role": "customer", "email": "eve@elsewhere.example"}],
        "deadline": "2199-01-01T00:00:00Z",
        "agreement_id": "acme-gold",
        "amends_version": 1,
    }
    answer = await api.post("/amendments", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(
        "signatories.0.email: eve@elsewhere.example is not a person of the directory"
    )
    missing = await api.post("/amendments", json={**body, "agreement_id": "acme-silver"})
    assert missing.status_code == 422
    assert missing.json()["detail"] == "agreement_id: agreement 'acme-silver' does not exist"
