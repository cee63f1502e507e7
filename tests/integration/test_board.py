"""The live board against a real dev server and worker: visibility picks the open tickets,
each ticket's query gives its clocks, and the order is breached first, then least time left."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from slaflow.board import Board
from slaflow.roles import Role
from tests.api_support import auth_headers
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]
P1_FIRST_RESPONSE = 10 * 60  # tests/factories.py: P1 responds in 10m, P2 in 20m, P4 in 80m


async def _open(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 201, answer.text


async def test_board_orders_open_tickets_breached_first_then_least_time_left(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    bodies = {
        "late": new_ticket(
            customer=f"Board {run} late", opened_at=(now - timedelta(minutes=15)).isoformat()
        ),
        "soon": new_ticket(
            customer=f"Board {run} soon", opened_at=(now - timedelta(minutes=8)).isoformat()
        ),
        "p2": new_ticket(customer=f"Board {run} p2", priority="P2"),
        "p4": new_ticket(customer=f"Board {run} p4", priority="P4", channel="email"),
        "done": new_ticket(customer=f"Board {run} done", priority="P3"),
    }
    for body in bodies.values():
        await _open(api, body)
    ids = {name: body["ticket_id"] for name, body in bodies.items()}
    acked = await api.post(
        f"/tickets/{ids['p4']}/acknowledge", json={"on_behalf_of": "agent1@example.com"}
    )
    assert acked.status_code == 200, acked.text
    resolved = await api.post(f"/tickets/{ids['done']}/resolve", json={})
    assert resolved.status_code == 200, resolved.text

    async def mine() -> list[str] | None:
        answer = await api.get("/board")
        assert answer.status_code == 200, answer.text
        board = Board.model_validate(answer.json())
        shown = [t.ticket_id for t in board.tickets if t.ticket_id in ids.values()]
        return shown if len(shown) == 4 and ids["done"] not in shown else None

    order = await eventually(mine, within=30, what="the four open tickets on the board")
    assert order == [ids["late"], ids["soon"], ids["p2"], ids["p4"]]

    board = Board.model_validate((await api.get("/board")).json())
    by_id = {t.ticket_id: t for t in board.tickets}
    late, soon, p2, p4 = (by_id[ids[n]] for n in ("late", "soon", "p2", "p4"))
    assert all(t.live for t in (late, soon, p2, p4))
    assert late.breached and not soon.breached and not p2.breached
    # The late ticket's first response is 5 minutes over its 10-minute target.
    assert late.time_left_seconds is not None
    assert -5 * 60 - 30 < late.time_left_seconds < -5 * 60 + 1
    assert soon.time_left_seconds is not None
    assert P1_FIRST_RESPONSE - 8 * 60 - 30 < soon.time_left_seconds <= P1_FIRST_RESPONSE - 8 * 60
    assert p2.time_left_seconds is not None and 19 * 60 < p2.time_left_seconds <= 20 * 60
    assert {c.kind for c in p4.clocks} == {"first_response", "resolution"}
    assert p4.status == "acknowledged"
    assert p4.acknowledged_by is not None and p4.acknowledged_by.startswith("agent-1 via ")
    assert p4.next_deadline is not None and p4.next_deadline > now

    # Each ticket sits in its own tier and priority cell, in the same order.
    for ticket in (late, soon, p2, p4):
        tier = next(t for t in board.tiers if t.tier == ticket.tier)
        cell = next(c for c in tier.priorities if c.priority == ticket.priority)
        assert ticket.ticket_id in [t.ticket_id for t in cell.tickets]
    assert [len(t.priorities) for t in board.tiers] == [4, 4, 4, 4]
    assert board.open_tickets == len(board.tickets) == sum(t.count for t in board.tiers)
    assert board.breached_tickets == sum(t.breached for t in board.tickets)
    assert "ExecutionStatus = 'Running'" in board.query


async def test_board_needs_the_manager_role(api: httpx.AsyncClient) -> None:
    anonymous = await api.get("/board", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    agent = await api.get("/board", headers=auth_headers(Role.AGENT))
    assert agent.status_code == 403
    assert "manager" in agent.json()["detail"]
    too_many = await api.get("/board", params={"limit": 0})
    assert too_many.status_code == 422
    assert "limit" in too_many.json()["detail"]
