"""Two customers' agreements on the real stack: intake picks each ticket's agreement, the
ticket carries it, and visibility lists tickets by agreement (the SlaAgreement attribute)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from activities import agreement_store
from tests.factories import agreement_file, customer_doc
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration


async def test_each_customers_ticket_runs_under_its_agreement_and_lists_by_it(
    api: httpx.AsyncClient, stack_engine: Engine, new_ticket: Callable[..., dict[str, Any]]
) -> None:
    tag = uuid.uuid4().hex[:8]
    for name, p1 in (("acme", "4m"), ("globex", "20m")):
        doc = customer_doc(name, p1)
        agreement_store.seed_file(
            stack_engine, agreement_file(f"{name}-{tag}", f"{name}-{tag}", doc)
        )
    views = {}
    for name in ("acme", "globex"):
        answer = await api.post("/tickets", json=new_ticket(customer=f"{name}-{tag}"))
        assert answer.status_code == 201, answer.text
        views[name] = answer.json()
    assert views["acme"]["agreement_id"] == f"acme-{tag}"
    assert views["globex"]["agreement_id"] == f"globex-{tag}"
    firsts = {n: v["targets"][0]["within_seconds"] for n, v in views.items()}
    assert firsts == {"acme": 240, "globex": 1200}
    assert views["acme"]["paged"][0].startswith("acme-")

    async def listed() -> list[str]:
        answer = await api.get("/tickets", params={"agreement": f"acme-{tag}"})
        assert answer.status_code == 200, answer.text
        return [t["ticket_id"] for t in answer.json()["tickets"]]

    await eventually(lambda: listed(), what="the acme ticket in visibility")
    assert await listed() == [views["acme"]["ticket_id"]]
    explained = (await api.get(f"/tickets/{views['globex']['ticket_id']}/explain")).json()
    assert explained["agreement_id"] == f"globex-{tag}"
    assert explained["agreement_rule"] == "the customer's agreement (no conditions)"
    board = await api.get("/board", params={"agreement": f"acme-{tag}"})
    assert board.status_code == 200, board.text
    assert [t["ticket_id"] for t in board.json()["tickets"]] == [views["acme"]["ticket_id"]]
    assert f"SlaAgreement = 'acme-{tag}'" in board.json()["query"]


@pytest.mark.parametrize(
    "params", [{"agreement": "x' OR 'a'='a"}, {"agreement": "ACME"}, {"customer": ""}]
)
async def test_the_board_refuses_odd_filters(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    answer = await api.get("/board", params=params)
    assert answer.status_code == 422
    assert next(iter(params)) in answer.json()["detail"]
