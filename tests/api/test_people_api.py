"""`/people` over HTTP: who may manage the directory, and bad input named by field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from activities import audit_store, people_store, token_store
from slaflow.people import PersonRole
from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings

BASE = "http://api.test"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(
        auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1", api_token_cache_seconds=0)
    )
    app_state(app).temporal = MustNotConnect(app_state(app).settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def person_token(app: FastAPI, email: str, role: Role) -> dict[str, str]:
    engine = app_state(app).engine
    person = people_store.find_person(engine, email)
    token = token_store.create_token(engine, f"t-{person.id}-{role}", role, NOW, person.id).token
    return {"Authorization": f"Bearer {token}"}


async def test_the_default_agreement_s_people_are_seeded_at_start(http: httpx.AsyncClient) -> None:
    answer = await http.get("/people", params={"agreement": "default"}, headers=auth_headers())
    assert answer.status_code == 200
    by_email = {p["email"]: p for p in answer.json()}
    lea = by_email["jonas.hartmann@it-services.example"]
    assert lea["name"] == "Jonas Hartmann" and lea["slack_user_id"] == "U0LEAD01"
    assert {"agreement_id": "default", "role": "team_lead"} in lea["memberships"]


async def test_admins_add_people_and_bad_input_names_its_field(http: httpx.AsyncClient) -> None:
    body = {"name": "Nina New", "email": "Nina@Example.com"}
    added = await http.post("/people", json=body, headers=auth_headers())
    assert added.status_code == 201, added.text
    assert added.json()["email"] == "nina@example.com"
    again = await http.post("/people", json=body, headers=auth_headers())
    assert again.status_code == 409
    for bad, field in (
        ({"name": "", "email": "x@y"}, "body.name"),
        ({"name": "X", "email": "not-an-email"}, "body.email"),
        ({"name": "X", "email": "x@y", "slack_user_id": "<script>"}, "body.slack_user_id"),
        ({"name": "X", "email": "x@y", "role": "admin"}, "body.role"),
    ):
        refused = await http.post("/people", json=bad, headers=auth_headers())
        assert refused.status_code == 422 and field in refused.json()["detail"], bad
    manager = await http.post("/people", json=body, headers=auth_headers(Role.MANAGER))
    assert manager.status_code == 403
    assert (await http.get("/people/nobody@example.com", headers=auth_headers())).status_code == 404
    assert (await http.get("/people/" + "9" * 40, headers=auth_headers())).status_code == 404


async def test_an_agreement_s_manager_grants_roles_there_and_nowhere_else(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    engine = app_state(app).engine
    people_store.add_person(engine, "Nina New", "nina@example.com", None, NOW)
    max_manager = person_token(app, "michael.braun@it-services.example", Role.MANAGER)
    grant = {"agreement_id": "default", "role": "agent"}
    granted = await http.post(
        "/people/nina@example.com/memberships", json=grant, headers=max_manager
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["memberships"] == [grant]
    people_store.add_person(engine, "Globex", "g@globex.example", None, NOW)
    elsewhere = {"agreement_id": "globex", "role": "agent"}
    refused = await http.post(
        "/people/nina@example.com/memberships", json=elsewhere, headers=max_manager
    )
    assert refused.status_code == 403 and "globex" in refused.json()["detail"]
    unknown = await http.post(
        "/people/nina@example.com/memberships", json=elsewhere, headers=auth_headers()
    )
    assert unknown.status_code == 422 and "body.agreement_id" in unknown.json()["detail"]
    revoked = await http.delete(
        "/people/nina@example.com/memberships/default/agent", headers=max_manager
    )
    assert revoked.status_code == 200 and revoked.json()["memberships"] == []
    twice = await http.delete(
        "/people/nina@example.com/memberships/default/agent", headers=max_manager
    )
    assert twice.status_code == 409
    bad_role = await http.delete(
        "/people/nina@example.com/memberships/default/ceo", headers=auth_headers()
    )
    assert bad_role.status_code == 422
    assert PersonRole.MANAGER in people_store.find_person(
        engine, "michael.braun@it-services.example"
    ).roles_on("default")


async def test_a_deactivated_person_s_token_is_refused(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    lea = person_token(app, "jonas.hartmann@it-services.example", Role.MANAGER)
    assert (await http.get("/people", headers=lea)).status_code == 200
    gone = await http.post(
        "/people/jonas.hartmann@it-services.example/deactivate", headers=auth_headers()
    )
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert (await http.get("/people", headers=lea)).status_code == 401


async def test_tokens_may_belong_to_a_person(http: httpx.AsyncClient) -> None:
    body = {"name": "lea", "role": "agent", "person": "jonas.hartmann@it-services.example"}
    made = await http.post("/tokens", json=body, headers=auth_headers())
    assert made.status_code == 201, made.text
    assert made.json()["person_id"] is not None
    nobody = {"name": "x", "role": "agent", "person": "nobody@example.com"}
    refused = await http.post("/tokens", json=nobody, headers=auth_headers())
    assert refused.status_code == 422 and "body.person" in refused.json()["detail"]


@pytest.mark.parametrize(
    "token",
    ["x", "a" * 1999, "eyJhIjoiQS0xIn0.sig", "%00", "..", "<script>", "e30.e30"],
)
async def test_hostile_signing_links_are_refused_without_reaching_temporal(
    tmp_path: Path, token: str
) -> None:
    settings = auth_settings(
        data_dir=tmp_path,
        temporal_address="127.0.0.1:1",
        signing_link_secret=SecretStr("s" * 40),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app_state(app).temporal = MustNotConnect(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            page = await http.get(f"/sign/A-1/{token}")
            assert page.status_code in (403, 404, 422), page.text
            posted = await http.post(f"/sign/A-1/{token}", data={"decision": "approve"})
            assert posted.status_code in (403, 404, 422), posted.text
            odd = await http.post(f"/sign/A-1/{token}", data={"decision": "sudo"})
            assert odd.status_code in (404, 422)
        audit = audit_store.trail(app_state(app).engine, "amendment", "A-1")
    assert all(a.outcome == "refused" and a.method == "link" for a in audit)


async def test_signing_links_are_off_without_their_secret(http: httpx.AsyncClient) -> None:
    page = await http.get("/sign/A-1/anything")
    assert page.status_code == 403 and "not enabled" in page.text


async def test_reports_are_read_by_the_agreement_s_own_people(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    engine = app_state(app).engine
    people_store.add_person(engine, "Cora", "cora@customer.example", None, NOW)
    people_store.grant(engine, "cora@customer.example", "default", PersonRole.CUSTOMER_SIGNATORY)
    cora = person_token(app, "cora@customer.example", Role.INTAKE)
    own = await http.get("/compliance/default", headers=cora)
    assert own.status_code == 200, own.text
    assert own.json()["group_by"] == "priority"
    for elsewhere in ("/compliance/nordwind", "/reports/sla", "/tickets", "/amendments"):
        refused = await http.get(elsewhere, headers=cora)
        assert refused.status_code == 403, elsewhere
    assert (await http.get("/compliance/Bad Id", headers=cora)).status_code == 422

    manager = person_token(app, "michael.braun@it-services.example", Role.MANAGER)
    unscoped = await http.get("/reports/sla", headers=manager)
    assert unscoped.status_code == 403 and "default" in unscoped.json()["detail"]
    scoped = await http.get("/reports/sla", params={"agreement": "default"}, headers=manager)
    assert scoped.status_code == 200
    other = await http.get("/reports/sla", params={"agreement": "nordwind"}, headers=manager)
    assert other.status_code == 403
    assert (await http.get("/reports/sla", headers=auth_headers())).status_code == 200  # admin
