"""Amendment proposals the API must refuse (422, naming the reason) before reaching Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from activities import people_store, token_store
from slaflow.people import PersonRole
from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings
from tests.factories import agreement_doc


def proposal(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amendment_id": "A-1",
        "proposer": "pat@example.com",
        "agreement": agreement_doc(),
        "rationale": "tighter P1",
        "signatories": [{"name": "Cora", "role": "customer", "email": "cora@example.com"}],
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "amends_version": 1,
    }
    body.update(overrides)
    return body


def staff(engine: Engine) -> str:
    """Pat proposes (manager of `default`), Cora signs for the customer; Pat's token."""
    now = datetime.now(UTC)
    people_store.add_person(engine, "Pat Proposer", "pat@example.com", None, now)
    people_store.grant(engine, "pat@example.com", "default", PersonRole.MANAGER)
    people_store.add_person(engine, "Cora Customer", "cora@example.com", None, now)
    people_store.grant(engine, "cora@example.com", "default", PersonRole.CUSTOMER_SIGNATORY)
    pat = people_store.find_person(engine, "pat@example.com")
    return token_store.create_token(engine, "pat", Role.MANAGER, now, pat.id).token


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    state.temporal = MustNotConnect(state.settings)
    async with app.router.lifespan_context(app):  # tables and agreement version 1
        state.temporal = MustNotConnect(state.settings)
        token = staff(state.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://api.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client


def _with(path: list[str], value: Any) -> dict[str, Any]:
    body = proposal()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            _with(["agreement", "objectives", "P5"], agreement_doc()["objectives"]["P1"]),
            "body.agreement.objectives.P5",
        ),
        (
            _with(["agreement", "objectives", "P1", "resolution", "within"], -7200),
            "must be a positive duration",
        ),
        (proposal(signatories=[]), "body.signatories: List should have at least 1 item"),
        (
            proposal(signatories=[proposal()["signatories"][0]] * 2),
            "signatory cora@example.com is listed twice",
        ),
        (proposal(deadline="2020-01-01T00:00:00Z"), "deadline: 2020-01-01T00:00:00+00:00 is not"),
        (proposal(amends_version=7), "amends_version: agreement 'default' has no version 7"),
        (proposal(agreement_id="nope"), "agreement_id: agreement 'nope' does not exist"),
        (proposal(agreement_id="Bad Id"), "body.agreement_id: String should match pattern"),
        (
            proposal(signatories=[{"name": "Eve", "role": "customer", "email": "eve@x.example"}]),
            "signatories.0.email: eve@x.example is not a person of the directory",
        ),
        (
            proposal(signatories=[{"name": "Pat", "role": "customer", "email": "pat@example.com"}]),
            "signatories.0.email: pat@example.com is not a customer or provider signatory of "
            "agreement default",
        ),
    ],
    ids=[
        "unknown priority",
        "negative target",
        "no signatories",
        "twice",
        "past",
        "no version",
        "unknown agreement",
        "odd agreement id",
        "not a person",
        "not a signatory",
    ],
)
async def test_invalid_proposal_is_422_and_starts_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], reason: str
) -> None:
    answer = await api.post("/amendments", json=body)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]


async def test_reject_needs_a_comment(api: httpx.AsyncClient) -> None:
    answer = await api.post("/amendments/A-1/reject", json={})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "body.comment: Field required"


async def test_a_decision_naming_its_signer_is_refused(api: httpx.AsyncClient) -> None:
    for name in ("approve", "reject", "request_changes", "withdraw"):
        body = {"by": "cora@example.com", "comment": "x"}
        answer = await api.post(f"/amendments/A-1/{name}", json=body)
        assert answer.status_code == 422, name
        assert "by: not accepted any more" in answer.json()["detail"]


async def test_only_a_person_proposes_and_only_as_themself(api: httpx.AsyncClient) -> None:
    integration = await api.post("/amendments", json=proposal(), headers=auth_headers())
    assert integration.status_code == 403
    assert "an integration's token cannot propose" in integration.json()["detail"]
    other = await api.post("/amendments", json=proposal(proposer="max@example.com"))
    assert other.status_code == 403
    assert other.json()["detail"].startswith("body.proposer: max@example.com is not you")
    audit = (await api.get("/amendments/A-1/audit")).json()
    assert [(a["action"], a["outcome"]) for a in audit] == [("propose", "refused")] * 2
    assert audit[1]["actor"] == "Pat Proposer" and audit[1]["method"] == "token"


async def test_openapi_lists_the_amendment_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {
        "/amendments",
        "/amendments/{amendment_id}",
        "/amendments/{amendment_id}/approve",
    } <= set(paths)


async def test_a_proposal_against_a_stale_version_is_409_naming_the_latest(
    api: httpx.AsyncClient,
) -> None:
    from activities import agreement_store
    from tests.factories import make_agreement

    engine = app_state(api._transport.app).engine  # type: ignore[attr-defined]
    effective = datetime.now(UTC) - timedelta(minutes=1)
    agreement_store.add_version(
        engine, make_agreement(**agreement_doc()), effective_from=effective, source="test"
    )
    answer = await api.post("/amendments", json=proposal(amends_version=1))
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("amends_version: version 1 is not the latest agreement version; ")
    assert "version 2 is (in force since " in detail
    assert detail.endswith("propose against 2")


async def test_signing_an_amendment_whose_version_went_stale_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activities import agreement_store
    from activities.db import create_tables, make_engine
    from slaflow import amendments as rules
    from slaflow.amendments import AmendmentProposal, Approve, Reject
    from starter import amendments_service as service
    from tests.factories import make_agreement

    engine = make_engine(f"sqlite:///{tmp_path / 'stale.db'}")
    create_tables(engine)
    now = datetime.now(UTC)
    for _ in range(2):
        agreement_store.add_version(
            engine, make_agreement(**agreement_doc()), effective_from=now, source="test"
        )
    state = rules.new_state(AmendmentProposal.model_validate(proposal()), now)

    async def get_amendment(client: Any, amendment_id: str) -> Any:
        return rules.view(state)

    sent: list[object] = []

    class Handle:
        async def execute_update(self, name: str, command: object, **_: Any) -> Any:
            sent.append(command)
            return rules.view(state)

    class Client:
        def get_workflow_handle(self, workflow_id: str) -> Handle:
            return Handle()

    monkeypatch.setattr(service, "get_amendment", get_amendment)
    approve = Approve(by="cora@example.com")
    with pytest.raises(service.CommandRefused) as refused:
        await service.decide(Client(), "A-1", approve, engine=engine)  # type: ignore[arg-type]
    assert refused.value.http_status == 409
    assert str(refused.value) == (
        "amendment A-1 amends version 1, but version 2 is now the latest; it can no longer "
        "take effect: withdraw it and propose it again against 2"
    )
    assert sent == []
    reject = Reject(by="cora@example.com", comment="stale anyway")
    await service.decide(Client(), "A-1", reject, engine=engine)  # type: ignore[arg-type]
    assert sent == [reject]  # a rejection may still close it
    engine.dispose()


async def test_only_a_manager_of_the_agreement_proposes(api: httpx.AsyncClient) -> None:
    engine = app_state(api._transport.app).engine  # type: ignore[attr-defined]
    cora = people_store.find_person(engine, "cora@example.com")
    token = token_store.create_token(engine, "cora", Role.MANAGER, datetime.now(UTC), cora.id)
    answer = await api.post(
        "/amendments",
        json=proposal(proposer="cora@example.com"),
        headers={"Authorization": f"Bearer {token.token}"},
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "cora@example.com is no manager of agreement default"
