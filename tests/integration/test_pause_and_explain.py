"""Pause, resume and explain through the API and the CLI, against the real stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from slaflow.people import PersonRole
from slaflow.tickets import TicketExplanation, TicketView
from tests.integration.conftest import Cli, person_token

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]


async def test_pause_resume_and_explain_over_http(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    body = new_ticket()
    assert (await api.post("/tickets", json=body)).status_code == 201
    tid = body["ticket_id"]
    paused = await api.post(f"/tickets/{tid}/pause", json={"status": "waiting_on_customer"})
    assert paused.status_code == 200, paused.text
    view = TicketView.model_validate(paused.json())
    assert view.status == "waiting_on_customer"
    assert [t.status for t in view.targets] == ["running", "paused"]
    again = await api.post(f"/tickets/{tid}/pause", json={})
    assert again.status_code == 409 and "resume it first" in again.json()["detail"]
    bad = await api.post(f"/tickets/{tid}/pause", json={"status": "on_holiday"})
    assert bad.status_code == 422 and "body.status" in bad.json()["detail"]

    explained = await api.get(f"/tickets/{tid}/explain")
    assert explained.status_code == 200
    explanation = TicketExplanation.model_validate(explained.json())
    resolution = explanation.targets[1]
    assert resolution.deadline is None and "no deadline while paused" in resolution.summary
    assert resolution.pauses and resolution.pauses[0].reason == "waiting_on_customer"

    resumed = await api.post(f"/tickets/{tid}/resume", json={})
    assert resumed.status_code == 200
    assert all(t.deadline is not None for t in TicketView.model_validate(resumed.json()).targets)
    assert (await api.get("/tickets/NOPE-1/explain")).status_code == 404


async def test_explain_and_pause_from_the_cli(
    cli: Cli, api: httpx.AsyncClient, new_ticket: NewTicket, stack_engine: Engine
) -> None:
    body = new_ticket()
    assert (await api.post("/tickets", json=body)).status_code == 201
    tid = body["ticket_id"]
    lea = [("default", PersonRole.TEAM_LEAD)]
    cli.acting_as(person_token(stack_engine, "Lea Lead", "lea@example.com", lea))
    paused = await cli("ticket", "pause", tid, "--json")
    assert paused.exit_code == 0, paused.output
    assert json.loads(paused.stdout)["status"] == "waiting_on_customer"
    explained = await cli("ticket", "explain", tid)
    assert explained.exit_code == 0, explained.output
    assert "resolution: " in explained.stdout and "paused" in explained.stdout
    resumed = await cli("ticket", "resume", tid, "--note", "logs arrived")
    assert resumed.exit_code == 0, resumed.output
    twice = await cli("ticket", "resume", tid)
    assert twice.exit_code == 1 and "not waiting" in twice.output
