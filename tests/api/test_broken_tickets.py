"""One broken ticket (item 1 of the hardening issue): refused at the edge when its dates are
out of range, and shown as unreadable, counted, by every view that reads many tickets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from slaflow import ticket_machine as machine
from slaflow.tickets import TicketView
from starter import board_service
from starter import tickets_service as service
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.slack_cockpit import SlackCockpit
from tests.api.test_hardening import GOOD, FakeGateway
from tests.api_support import auth_headers, auth_settings
from tests.factories import make_terms, make_ticket

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    state.temporal = FakeGateway(state.settings, None)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=auth_headers()
    ) as client:
        yield client


# ----- the edge bounds every date and duration ---------------------------------------------------


@pytest.mark.parametrize(
    ("opened_at", "why"),
    [
        ("9999-12-31T23:59:59Z", "day ahead"),
        ("0001-01-01T00:00:00Z", "days ago"),
        ((datetime.now(UTC) + timedelta(days=2)).isoformat(), "day ahead"),
    ],
)
async def test_an_opening_out_of_range_is_422_naming_the_field(
    api: httpx.AsyncClient, opened_at: str, why: str
) -> None:
    answer = await api.post("/tickets", json={**GOOD, "opened_at": opened_at})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("opened_at: ") and why in detail


def _proposal(**fields: Any) -> dict[str, Any]:
    return {
        "title": "More time",
        "proposer": "boss@example.com",
        "changes": {},
        "rationale": "because",
        "signatories": [{"name": "A", "email": "a@example.com", "party": "customer"}],
        "deadline": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "amends_version": 1,
        **fields,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deadline", "9999-12-31T23:59:59Z"),
        ("effective_from", "9999-12-31T23:59:59Z"),
        ("remind_every", "9999999w"),
    ],
)
async def test_an_amendment_date_or_duration_out_of_range_is_422_naming_it(
    api: httpx.AsyncClient, field: str, value: str
) -> None:
    answer = await api.post("/amendments", json=_proposal(**{field: value}))
    assert answer.status_code == 422
    assert f"body.{field}:" in answer.json()["detail"]


async def test_a_dashboard_day_out_of_range_is_422(api: httpx.AsyncClient) -> None:
    answer = await api.get("/dashboard", params={"from": "9999-12-31"})
    assert answer.status_code == 422
    assert "from" in answer.json()["detail"]


# ----- many-ticket views survive one broken ticket ------------------------------------------------


def _execution(ticket_id: str) -> Any:
    return SimpleNamespace(
        id=f"ticket-{ticket_id}",
        typed_search_attributes=TypedSearchAttributes.empty,
        start_time=datetime(2026, 11, 2, 9, tzinfo=UTC),
        close_time=None,
        status=WorkflowExecutionStatus.RUNNING,
    )


class _Visibility:
    """Lists one good and one broken ticket."""

    def list_workflows(self, *_: Any, **__: Any) -> Any:
        async def listing() -> AsyncIterator[Any]:
            for ticket_id in ("T-good", "T-bad"):
                yield _execution(ticket_id)

        return listing()


def _view(ticket_id: str) -> TicketView:
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rt, _ = machine.open_ticket(make_ticket(ticket_id), make_terms(), now, now)
    return machine.view(rt, now)


async def _get_ticket(_: Any, ticket_id: str) -> TicketView:
    if ticket_id == "T-bad":
        raise RPCError("Workflow Task in failed state", RPCStatusCode.INTERNAL, b"")
    return _view(ticket_id)


def _failures(view: str) -> float:
    value = REGISTRY.get_sample_value("slaflow_ticket_read_failures_total", {"view": view})
    return value or 0.0


async def test_the_board_shows_a_broken_ticket_and_counts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(board_service, "get_ticket", _get_ticket)
    before = _failures("board")
    board = await board_service.live_board(_Visibility())  # type: ignore[arg-type]
    by_id = {t.ticket_id: t for t in board.tickets}
    assert by_id["T-good"].live and by_id["T-good"].problem is None
    assert not by_id["T-bad"].live
    assert "Workflow Task in failed state" in (by_id["T-bad"].problem or "")
    assert board.unanswered == 1
    assert _failures("board") == before + 1


async def test_a_detailed_list_shows_a_broken_ticket_and_counts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "get_ticket", _get_ticket)
    before = _failures("list")
    listing = await service.list_tickets(
        _Visibility(),  # type: ignore[arg-type]
        service.TicketFilter(),
        detail=True,
    )
    by_id = {t.ticket_id: t for t in listing.tickets}
    assert by_id["T-good"].detail is not None and by_id["T-good"].problem is None
    assert by_id["T-bad"].detail is None
    assert "Workflow Task in failed state" in (by_id["T-bad"].problem or "")
    assert _failures("list") == before + 1


async def test_slack_sla_names_tickets_it_could_not_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(service, "get_ticket", _get_ticket)
    app = create_app(auth_settings(data_dir=tmp_path))
    state = app_state(app)
    visibility = _Visibility()

    async def temporal() -> Any:
        return visibility

    cockpit = SlackCockpit(state.settings, state.engine, temporal)

    async def in_force() -> Any:
        return [make_terms().agreement]  # every agreement's version in force

    async def get(_number: int, _agreement_id: str = "default") -> Any:
        return make_terms().agreement

    monkeypatch.setattr(cockpit.agreements, "in_force", in_force)
    monkeypatch.setattr(cockpit.agreements, "get", get)
    text = await cockpit._my_tickets("UAGE1")
    assert "could not read" in text and "T-bad" in text


def test_get_ticket_of_a_failing_workflow_is_503_not_500() -> None:
    error = RPCError(
        "Unable to query workflow due to Workflow Task in failed state.",
        RPCStatusCode.FAILED_PRECONDITION,
        b"",
    )

    async def failing() -> None:
        raise error

    async def check() -> None:
        with pytest.raises(service.TicketBroken) as broken:
            await service._answered("T-1", failing())
        assert broken.value.http_status == 503
        assert str(broken.value).startswith("ticket T-1 is broken: Unable to query workflow")

    import asyncio

    asyncio.run(check())


def test_prometheus_alerts_on_unreadable_tickets() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    assert "alerts.yml" in config["rule_files"]
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text("utf-8"))
    [alert] = [
        r for g in rules["groups"] for r in g["rules"] if r["alert"] == "SlaflowTicketUnreadable"
    ]
    assert "slaflow_ticket_read_failures_total" in alert["expr"]
    assert alert["for"]
