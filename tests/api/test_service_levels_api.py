"""`GET /reports/service-levels` and `slaflow service-levels` without a Temporal server: roles,
figures from a seeded database (visibility answered by a stand-in with one open breach), and
the clear refusal when Temporal cannot be reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, insert
from typer.testing import CliRunner

from activities.agreement_store import EPOCH, add_version
from activities.tables import TicketFactRow
from slaflow.roles import Role
from slaflow.service_levels import window_bounds
from slaflow.settings import get_settings
from slaflow.tickets import TargetKind, TargetView, TicketStatus, TicketView, workflow_id_for
from slaflow.tiers import Channel, Priority, Tier
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from starter.cli import app as cli_app
from starter.cli_service_levels import render
from starter.tickets_service import TemporalUnavailable
from tests.api_support import auth_headers, auth_settings
from tests.factories import make_agreement
from workflows.service_level_calls import AgreementServiceLevels, ServiceLevelReport

SERVICE_LEVELS = [
    {"priority": "P1", "target": "first_response", "percent": 90, "warn_when_spent": 50},
    {"target": "resolution", "percent": 80, "window": "week"},
]


class _Execution:
    def __init__(self, workflow_id: str) -> None:
        self.id = workflow_id


class _Handle:
    def __init__(self, view: TicketView) -> None:
        self.view = view

    async def query(self, name: str, result_type: Any = None) -> TicketView:
        assert name == "state"
        return self.view


class OneOpenBreach:
    """The few Client methods `VisibilityBreaches` uses: one running P1 ticket, first
    response breached. Records the visibility query it was asked."""

    def __init__(self, view: TicketView) -> None:
        self.view = view
        self.queries: list[str] = []

    async def _executions(self) -> AsyncIterator[_Execution]:
        yield _Execution(self.view.workflow_id)

    def list_workflows(self, query: str) -> AsyncIterator[_Execution]:
        self.queries.append(query)
        return self._executions()

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        assert workflow_id == self.view.workflow_id
        return _Handle(self.view)


class Gateway(TemporalGateway):
    def __init__(self, client: Any) -> None:
        self._fake = client

    async def client(self) -> Any:
        return self._fake


class Unreachable(TemporalGateway):
    async def client(self) -> Any:
        raise TemporalUnavailable("cannot reach Temporal at 127.0.0.1:1: connection refused")


def open_breached_view(opened: datetime) -> TicketView:
    """A running P1 ticket whose first response breached; its resolution is still running."""
    return TicketView(
        ticket_id="OPEN-1",
        workflow_id=workflow_id_for("OPEN-1"),
        customer="ACME",
        subject="Down",
        description="",
        channel=Channel.PHONE,
        requester_email="ops@acme.example",
        priority=Priority.P1,
        status=TicketStatus.OPEN,
        tier=Tier.TEAM_LEAD,
        highest_tier=Tier.TEAM_LEAD,
        assignee=None,
        acknowledged_by=None,
        paged=[],
        agreement_version=2,
        opened_at=opened,
        resolved_at=None,
        closed_at=None,
        breached=True,
        targets=[
            TargetView(
                kind=TargetKind.FIRST_RESPONSE,
                within_seconds=600,
                calendar="24x7",
                status="breached",
                breached_at=opened + timedelta(minutes=10),
            ),
            TargetView(
                kind=TargetKind.RESOLUTION,
                within_seconds=3600,
                calendar="24x7",
                deadline=opened + timedelta(hours=1),
                status="running",
            ),
        ],
        events=[],
        as_of=opened + timedelta(minutes=20),
    )


def seed(engine: Any, now: datetime) -> None:
    """Nine closed P1 tickets this week, all answered in time and resolved, one resolution
    breached; plus a P2 from last month (outside both windows)."""
    add_version(
        engine, make_agreement(service_levels=SERVICE_LEVELS), effective_from=EPOCH, source="t"
    )
    start = max(window_bounds("week", now).start, window_bounds("month", now).start)
    rows = []
    for i in range(9):
        opened = start + (now - start) * (i + 1) / 11
        rows.append(_row(f"C-{i}", "P1", opened, resolution_breached=i == 0))
    rows.append(_row("OLD", "P2", window_bounds("month", now).start - timedelta(days=3)))
    table: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


def _row(
    ticket_id: str, priority: str, opened: datetime, resolution_breached: bool = False
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "customer": "ACME",
        "priority": priority,
        "channel": "phone",
        "agreement_version": 2,
        "opened_at": opened,
        "first_response_at": opened + timedelta(minutes=1),
        "resolved_at": opened + timedelta(minutes=2),
        "closed_at": None,
        "first_response_target_seconds": 600,
        "resolution_target_seconds": 3600,
        "first_response_breached": False,
        "resolution_breached": resolution_breached,
        "highest_tier": "agent",
        "escalations": 0,
        "reopen_count": 0,
        "status": "resolved",
        "updated_at": opened,
    }


@pytest.fixture
async def app_and_fake(tmp_path: Path) -> AsyncIterator[tuple[Any, OneOpenBreach, datetime]]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    now = datetime.now(UTC)
    start = max(window_bounds("week", now).start, window_bounds("month", now).start)
    fake = OneOpenBreach(open_breached_view(start + (now - start) / 2))
    async with app.router.lifespan_context(app):
        state.temporal = Gateway(fake)
        seed(state.engine, now)
        yield app, fake, now


async def get(app: Any, role: Role | None) -> httpx.Response:
    headers = auth_headers(role) if role else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        return await client.get("/reports/service-levels", headers=headers)


async def test_figures_of_each_objective_with_the_open_breach_counted(
    app_and_fake: tuple[Any, OneOpenBreach, datetime],
) -> None:
    app, fake, _ = app_and_fake
    answer = await get(app, Role.MANAGER)
    assert answer.status_code == 200, answer.text
    report = ServiceLevelReport.model_validate(answer.json())
    assert report.agreement_version == 2 and report.open_breaches == 1
    p1, every = report.statuses
    # P1 first responses: 9 closed in time + the open breach = 10 measured, 1 missed;
    # 10 % of 10 = 1 allowed -> 100 % spent -> exhausted (10 is
    # the volume at which 90 % allows one whole miss, so not low volume)
    assert (p1.objective, p1.measured, p1.misses, p1.allowed_misses) == (
        "P1-first_response-month",
        10,
        1,
        1,
    )
    assert (p1.spent_percent, p1.state, p1.compliance_percent, p1.low_volume) == (
        100,
        "exhausted",
        90,
        False,
    )
    # Every priority's resolutions this week: the open ticket's resolution is still running,
    # so 9 measured; 1 breached of 20 % x 9 = 1.8 allowed -> 55.6 % spent, warning at 75: ok
    assert (every.objective, every.measured, every.misses, every.allowed_misses) == (
        "all-resolution-week",
        9,
        1,
        1.8,
    )
    assert (every.spent_percent, every.state) == (55.6, "ok")
    assert "TaskQueue = 'slaflow'" in fake.queries[0] and "SlaBreached = true" in fake.queries[0]
    # each objective's last ended window, evaluated once more, ends where the current begins
    assert [(c.objective, c.final) for c in report.closing] == [
        ("P1-first_response-month", True),
        ("all-resolution-week", True),
    ]
    assert [c.window.end for c in report.closing] == [p1.window.start, every.window.start]
    assert all(c.met is (c.misses <= c.allowed_misses) for c in report.closing)


async def test_only_managers_may_read_it(
    app_and_fake: tuple[Any, OneOpenBreach, datetime],
) -> None:
    app, _, _ = app_and_fake
    assert (await get(app, None)).status_code == 401
    forbidden = await get(app, Role.AGENT)
    assert forbidden.status_code == 403 and "manager" in forbidden.json()["detail"]
    assert (await get(app, Role.ADMIN)).status_code == 200


async def test_unreachable_temporal_is_a_503_not_a_rosier_window(
    app_and_fake: tuple[Any, OneOpenBreach, datetime],
) -> None:
    app, _, _ = app_and_fake
    app_state(app).temporal = Unreachable(app_state(app).settings)
    answer = await get(app, Role.MANAGER)
    assert answer.status_code == 503 and "cannot reach Temporal" in answer.json()["detail"]


def test_cli_says_temporal_is_unreachable_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["service-levels"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach Temporal at 127.0.0.1:1")


async def test_cli_table(app_and_fake: tuple[Any, OneOpenBreach, datetime]) -> None:
    app, _, _ = app_and_fake
    report = ServiceLevelReport.model_validate((await get(app, Role.MANAGER)).json())
    lines = render(report).splitlines()
    assert lines[0].startswith("Service levels of agreement version 2 (Test agreement)")
    assert "1 open breached ticket(s) counted live" in lines[0]
    assert lines[1].split()[:4] == ["OBJECTIVE", "TARGET", "%", "WINDOW"]
    p1 = lines[2]
    assert p1.startswith("P1-first_response-month") and "exhausted" in p1
    assert " 10 " in p1 and "100 % / 50 %" in p1
    assert lines[3].startswith("all-resolution-week") and "55.6 % / 75 %" in lines[3]
    assert lines[4] == "Windows closed last:"
    assert lines[5].startswith("  P1-first_response-month ") and " against 90 %: " in lines[5]
    empty = report.model_copy(update={"statuses": []})
    assert "states no service-level objectives" in render(empty)
    acme = AgreementServiceLevels.model_validate(
        {**report.model_dump(), "agreement_id": "acme-gold", "agreement_name": "ACME Gold"}
    )
    both = render(report.model_copy(update={"agreements": [acme]})).split("\n\n")
    assert len(both) == 2 and both[1].startswith(
        "Service levels of agreement acme-gold version 2 (ACME Gold)"
    )
    no_default = report.model_copy(update={"agreement_version": 0, "agreements": [acme]})
    assert render(no_default).startswith("Service levels of agreement acme-gold")
