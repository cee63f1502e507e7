"""The HTTP API against a real dev server, worker, mailbox and Slack stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from slaflow.tickets import TicketView, workflow_id_for
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]


async def open_ticket(api: httpx.AsyncClient, body: dict[str, Any]) -> TicketView:
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 201, answer.text
    return TicketView.model_validate(answer.json())


async def test_intake_starts_the_ticket_with_its_targets(
    api: httpx.AsyncClient, temporal: Client, new_ticket: NewTicket
) -> None:
    body = new_ticket()
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"/tickets/{body['ticket_id']}"
    view = TicketView.model_validate(answer.json())
    assert view.workflow_id == workflow_id_for(body["ticket_id"])
    assert (view.status, view.tier, view.agreement_version) == ("open", "agent", 1)
    assert {t.kind for t in view.targets} == {"first_response", "resolution"}
    assert all(t.deadline is not None and t.deadline.tzinfo for t in view.targets)
    assert view.opened_at.tzinfo is not None

    again = await api.post("/tickets", json={**body, "subject": "a retried intake"})
    assert again.status_code == 200
    assert again.json()["workflow_id"] == view.workflow_id
    assert again.json()["subject"] == body["subject"]
    query = f"WorkflowId = '{view.workflow_id}'"
    await eventually(lambda: _count(temporal, query), what="the ticket in visibility")
    assert await _count(temporal, query) == 1


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def test_state_by_query(api: httpx.AsyncClient, new_ticket: NewTicket) -> None:
    opened = await open_ticket(api, new_ticket(priority="P2", channel="email"))
    answer = await api.get(f"/tickets/{opened.ticket_id}")
    assert answer.status_code == 200
    view = TicketView.model_validate(answer.json())
    assert (view.ticket_id, view.priority, view.channel) == (opened.ticket_id, "P2", "email")
    assert view.as_of >= opened.as_of
    assert [e.kind for e in view.events][:2] == ["opened", "terms_pinned"]


async def test_list_filters_by_search_attributes(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    body = new_ticket(customer="O'Brien & Sons " + new_ticket()["ticket_id"])
    opened = await open_ticket(api, body)
    acked = await api.post(
        f"/tickets/{opened.ticket_id}/acknowledge",
        json={"on_behalf_of": "agent1@example.com"},
    )
    assert acked.status_code == 200, acked.text
    wanted = {
        "customer": body["customer"],
        "priority": "P1",
        "status": "acknowledged",
        "tier": "agent",
        "breached": "false",
    }

    async def listed() -> list[dict[str, Any]]:
        answer = await api.get("/tickets", params=wanted)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["tickets"])

    tickets = await eventually(listed, what="the ticket in the filtered list")
    assert [t["ticket_id"] for t in tickets] == [opened.ticket_id]
    summary = tickets[0]
    assert summary["workflow_status"] == "running"
    assert summary["started_at"].endswith("Z") or "+" in summary["started_at"]
    for miss in ({"priority": "P4"}, {"tier": "management"}, {"breached": "true"}):
        answer = await api.get("/tickets", params={**wanted, **miss})
        assert answer.json()["tickets"] == [], miss
    detailed = await api.get("/tickets", params={**wanted, "detail": "true"})
    assert detailed.json()["tickets"][0]["detail"]["acknowledged_by"].startswith(
        "agent-1 via admin token "
    )


async def test_acknowledge(api: httpx.AsyncClient, new_ticket: NewTicket) -> None:
    opened = await open_ticket(api, new_ticket())
    answer = await api.post(f"/tickets/{opened.ticket_id}/acknowledge", json={})
    assert answer.status_code == 200, answer.text
    view = TicketView.model_validate(answer.json())
    assert view.status == "acknowledged"
    # a settings token is an integration acting as itself: the record names the credential
    assert view.acknowledged_by is not None
    assert view.acknowledged_by.startswith("admin token ")
    assert any(e.actor == view.acknowledged_by for e in view.events)


async def test_resolving_twice_is_refused_with_the_reason(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await open_ticket(api, new_ticket())
    path = f"/tickets/{opened.ticket_id}/resolve"
    first = await api.post(path, json={"note": "restarted the pool"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "resolved"
    second = await api.post(path, json={})
    assert second.status_code == 409
    assert "resolved" in second.json()["detail"]


async def test_a_closed_ticket_answers_but_refuses_commands(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    body = new_ticket()
    opened = await open_ticket(api, body)
    resolved = await api.post(f"/tickets/{opened.ticket_id}/resolve", json={})
    assert resolved.status_code == 200

    async def closed() -> bool:  # the reopen window is 4 s, then the workflow completes
        found = await api.get("/tickets", params={"customer": body["customer"]})
        tickets = found.json()["tickets"]
        return bool(tickets) and tickets[0]["workflow_status"] == "completed"

    await eventually(closed, within=30, what="the ticket's workflow to complete")
    state = await api.get(f"/tickets/{opened.ticket_id}")
    assert state.status_code == 200
    assert state.json()["status"] == "closed"
    refused = await api.post(f"/tickets/{opened.ticket_id}/comment", json={"text": "x"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"ticket {opened.ticket_id} is closed"
    again = await api.post("/tickets", json=body)
    assert again.status_code == 200
    assert again.json()["status"] == "closed"


async def test_unknown_ticket_is_404(api: httpx.AsyncClient) -> None:
    answer = await api.get("/tickets/NO-SUCH-TICKET")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "ticket NO-SUCH-TICKET not found"
    command = await api.post("/tickets/NO-SUCH-TICKET/acknowledge", json={})
    assert command.status_code == 404
    assert command.json()["detail"] == "ticket NO-SUCH-TICKET not found"


async def test_unacknowledged_ticket_escalates_by_mail_and_slack(
    api: httpx.AsyncClient, new_ticket: NewTicket, mailbox: Mailbox, slack: SlackStandin
) -> None:
    opened = await open_ticket(api, new_ticket())
    ticket_id = opened.ticket_id

    async def escalated() -> TicketView | None:
        view = TicketView.model_validate((await api.get(f"/tickets/{ticket_id}")).json())
        return view if view.tier != "agent" else None

    view = await eventually(escalated, within=30, what="escalation past the agent tier")
    assert view.tier == "team_lead"
    assert any(e.kind == "escalated" for e in view.events)

    async def lead_mail() -> bool:
        return any(
            "lead1@example.com" in str(m.get("X-RcptTo", "")) and ticket_id in str(m["Subject"])
            for m in mailbox.messages()
        )

    async def lead_post() -> bool:
        with slack.state.lock:
            return any(
                m.channel_name == "leads" and ticket_id in m.text for m in slack.state.messages
            )

    await eventually(lead_mail, what="the team lead's email in the mailbox")
    await eventually(lead_post, what="the team lead's Slack message")
    assert list((mailbox.directory).glob("*.eml"))


async def test_agreement_routes(api: httpx.AsyncClient) -> None:
    answer = await api.get("/agreement")
    assert answer.status_code == 200
    body = answer.json()
    assert body["number"] == 1
    assert body["effective_from"].startswith("1970-01-01T00:00:00")
    assert body["effective_from"].endswith(("Z", "+00:00"))
    assert body["document"]["customer"] == "ACME"
    versions = (await api.get("/agreement/versions")).json()
    assert [v["number"] for v in versions] == [1]
    assert (await api.get("/agreement/versions/99")).status_code == 404


async def test_readiness(api: httpx.AsyncClient) -> None:
    answer = await api.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {
        "temporal": "ok",
        "search_attributes": "ok",
        "database": "ok",
        "schema": "ok",
    }
