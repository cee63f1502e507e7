"""Who acts on a ticket, over HTTP against the real stack: the credential's person, an
integration for a person of the agreement, never a typed name; refusals 403 and audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from activities import people_store, token_store
from slaflow.people import PersonRole
from slaflow.roles import Role
from tests.integration.conftest import bearer, person_token

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]
TEAM_LEAD, AGENT = PersonRole.TEAM_LEAD, PersonRole.AGENT


async def _open(api: httpx.AsyncClient, new_ticket: NewTicket) -> str:
    body = new_ticket()
    assert (await api.post("/tickets", json=body)).status_code == 201
    return str(body["ticket_id"])


async def test_a_person_acts_as_themself_and_an_integration_names_whom_it_acts_for(
    api: httpx.AsyncClient, new_ticket: NewTicket, stack_engine: Engine
) -> None:
    ticket_id = await _open(api, new_ticket)
    lea = person_token(stack_engine, "Lea Lead", "lea.acting@example.com", [("default", TEAM_LEAD)])
    acked = await api.post(f"/tickets/{ticket_id}/acknowledge", json={}, headers=bearer(lea))
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "Lea Lead"
    helpdesk = token_store.create_token(
        stack_engine, f"helpdesk-{ticket_id}", Role.AGENT, datetime.now(UTC)
    ).token
    body = {"text": "customer called", "on_behalf_of": "lea.acting@example.com"}
    commented = await api.post(f"/tickets/{ticket_id}/comment", json=body, headers=bearer(helpdesk))
    assert commented.status_code == 200, commented.text
    last = commented.json()["events"][-1]
    assert last["actor"] == f"Lea Lead via helpdesk-{ticket_id}"
    typed = await api.post(
        f"/tickets/{ticket_id}/comment", json={"actor": "Max Manager", "text": "x"}
    )
    assert typed.status_code == 422 and "actor: not accepted" in typed.json()["detail"]

    audit = await api.get(f"/tickets/{ticket_id}/audit")
    assert audit.status_code == 200
    rows = [(a["action"], a["outcome"], a["actor"]) for a in audit.json()]
    assert rows == [
        ("acknowledge", "accepted", "Lea Lead"),
        ("comment", "accepted", f"Lea Lead via helpdesk-{ticket_id}"),
    ]


async def test_refusals_change_nothing_and_are_audited(
    api: httpx.AsyncClient, new_ticket: NewTicket, stack_engine: Engine
) -> None:
    ticket_id = await _open(api, new_ticket)
    path = f"/tickets/{ticket_id}/acknowledge"
    # works for another customer's agreement only
    other = person_token(stack_engine, "Olga Other", "olga@globex.example", [("globex", AGENT)])
    refused = await api.post(path, json={}, headers=bearer(other))
    assert refused.status_code == 403
    assert "does not work on agreement default" in refused.json()["detail"]
    # a person's token may not name someone else
    lea = person_token(stack_engine, "Lea Lead", "lea.acting@example.com", [("default", TEAM_LEAD)])
    body = {"on_behalf_of": "agent1@example.com"}
    for_other = await api.post(path, json=body, headers=bearer(lea))
    assert for_other.status_code == 403 and "acts as that person only" in for_other.text
    # an integration may not name someone outside the agreement
    outsider = await api.post(path, json={"on_behalf_of": "olga@globex.example"})
    assert outsider.status_code == 403 and "does not work on agreement" in outsider.text
    # a deactivated person's token is refused outright
    gone = person_token(stack_engine, "Gus Gone", "gus@example.com", [("default", AGENT)])
    people_store.set_active(stack_engine, "gus@example.com", False)
    assert (await api.post(path, json={}, headers=bearer(gone))).status_code == 401

    state = (await api.get(f"/tickets/{ticket_id}")).json()
    assert state["status"] == "open" and state["acknowledged_by"] is None
    # nor may Olga read it: one ticket, its explanation, or a list of another agreement
    for read in (f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/explain"):
        hidden = await api.get(read, headers=bearer(other))
        assert hidden.status_code == 403 and "does not work on agreement default" in hidden.text
    page = await api.get(f"/tickets/{ticket_id}", headers={**bearer(other), "Accept": "text/html"})
    assert page.status_code == 403 and state["subject"] not in page.text
    listed = await api.get("/tickets", params={"agreement": "default"}, headers=bearer(other))
    assert listed.status_code == 403
    mine = await api.get("/tickets", headers=bearer(other))  # narrowed to globex, hers
    assert mine.status_code == 200 and ticket_id not in mine.text
    audit = (await api.get(f"/tickets/{ticket_id}/audit")).json()
    assert [a["outcome"] for a in audit] == ["refused"] * 3
    assert audit[0]["actor"] == "Olga Other" and audit[0]["method"] == "token"


async def test_the_audit_csv_is_spreadsheet_safe(
    api: httpx.AsyncClient, new_ticket: NewTicket, stack_engine: Engine
) -> None:
    ticket_id = await _open(api, new_ticket)
    formula = person_token(
        stack_engine, "=HYPERLINK(1)", "formula@example.com", [("default", AGENT)]
    )
    acked = await api.post(f"/tickets/{ticket_id}/acknowledge", json={}, headers=bearer(formula))
    assert acked.status_code == 200, acked.text
    csv = await api.get(f"/tickets/{ticket_id}/audit", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in csv.text and ",=HYPERLINK" not in csv.text
    bad = await api.get(f"/tickets/{ticket_id}/audit", params={"format": "xlsx"})
    assert bad.status_code == 422
