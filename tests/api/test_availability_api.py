"""Outages by API and CLI and availability per service: planned and unplanned, hostile input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from activities import agreement_store
from slaflow.roles import Role
from slaflow.settings import get_settings
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.cli import app as cli_app
from tests.api_support import auth_headers, auth_settings
from tests.factories import agreement_file, customer_doc

HOSTING_DOWN = {
    "service": "Hosting",
    "start": "2026-11-03T10:00:00Z",
    "end": "2026-11-03T10:30:00Z",
}
MAINTENANCE = {
    "service": "Hosting",
    "start": "2026-11-08T01:00:00Z",
    "end": "2026-11-08T06:00:00Z",
    "planned": True,
}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    async with app.router.lifespan_context(app):
        doc = customer_doc(
            "acme",
            "10m",
            scope=["Hosting", "Backups"],
            availability_target=99.9,
            maintenance_allowance="4h",
        )
        agreement_store.seed_file(app_state(app).engine, agreement_file("acme-gold", "acme", doc))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers(Role.MANAGER)
        ) as client:
            yield client


async def test_availability_per_service_with_planned_and_unplanned_outages(
    api: httpx.AsyncClient,
) -> None:
    for body in (HOSTING_DOWN, MAINTENANCE):
        answer = await api.post("/outages", json=body)
        assert answer.status_code == 201, answer.text
    listed = await api.get("/outages", params={"month": "2026-11"})
    assert [o["service"] for o in listed.json()] == ["Hosting", "Hosting"]
    answer = await api.get(
        "/reports/availability", params={"agreement": "acme-gold", "month": "2026-11"}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    hosting, backups = report["services"]
    # 30 min unplanned + 1h of planned beyond the 4h allowance: 90 of 43,200 min
    assert (hosting["service"], hosting["availability_percent"], hosting["met"]) == (
        "Hosting",
        99.7917,
        False,
    )
    assert (backups["service"], backups["availability_percent"], backups["met"]) == (
        "Backups",
        100,
        True,
    )
    assert report["maintenance_allowance_seconds"] == 14400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOSTING_DOWN, "end": "2026-11-03T09:00:00Z"}, "body.end: Value error, must be after"),
        ({**HOSTING_DOWN, "start": "2026-11-03T10:00:00"}, "body.start"),  # no offset
        ({**HOSTING_DOWN, "service": ""}, "body.service"),
        ({**HOSTING_DOWN, "planned": "sometimes"}, "body.planned"),
        ({**HOSTING_DOWN, "extra": 1}, "body.extra"),
        ({"service": "Hosting"}, "body.start"),
        ({**HOSTING_DOWN, "start": 0}, "body.start: Value error, must be ISO 8601 text"),
        ({**HOSTING_DOWN, "end": "9999-12-31T23:59:59Z"}, "body.end"),
    ],
)
async def test_bad_outages_are_422_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    answer = await api.post("/outages", json=body)
    assert answer.status_code == 422 and answer.json()["detail"].startswith(field)
    assert (await api.get("/outages", params={"month": "2026-11"})).json() == []


async def test_an_overlapping_outage_of_the_same_service_is_refused(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/outages", json=HOSTING_DOWN)).status_code == 201
    clash = {**HOSTING_DOWN, "start": "2026-11-03T10:15:00Z", "end": "2026-11-03T11:00:00Z"}
    answer = await api.post("/outages", json=clash)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.start: overlaps outage 1 of Hosting")
    other = await api.post("/outages", json={**clash, "service": "Backups"})
    assert other.status_code == 201  # another service may be down at the same time
    assert len((await api.get("/outages", params={"month": "2026-11"})).json()) == 2


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"month": "2026-11", "agreement": "nope"}, 404, "query.agreement"),
        ({"month": "2026-11", "agreement": "Bad Id"}, 422, "query.agreement"),
        ({"month": "11/2026"}, 422, "query.month"),
    ],
)
async def test_bad_report_queries(
    api: httpx.AsyncClient, params: dict[str, str], status: int, field: str
) -> None:
    answer = await api.get("/reports/availability", params=params)
    assert answer.status_code == status and answer.json()["detail"].startswith(field)


def test_cli_records_refuses_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_DB_AUTO_MIGRATE", "true")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        add = ["outage", "add", "--service", "Hosting"]
        ok = runner.invoke(
            cli_app, [*add, "--start", "2026-11-03T10:00Z", "--end", "2026-11-03T10:30Z"]
        )
        assert ok.exit_code == 0, ok.output
        assert ok.stdout.strip() == "outage 1 of Hosting recorded"
        backwards = runner.invoke(
            cli_app, [*add, "--start", "2026-11-04T10:00Z", "--end", "2026-11-04T09:00Z"]
        )
        assert backwards.exit_code == 1 and backwards.stderr.startswith("error: --end: ")
        clash = runner.invoke(
            cli_app, [*add, "--start", "2026-11-03T10:10Z", "--end", "2026-11-03T10:20Z"]
        )
        assert clash.exit_code == 1
        assert clash.stderr.startswith("error: --start: overlaps outage 1 of Hosting")
        listed = runner.invoke(cli_app, ["outage", "list", "--month", "2026-11"])
        assert listed.exit_code == 0 and listed.stdout.count("Hosting") == 1
        bad = runner.invoke(cli_app, ["availability", "--month", "2026-14"])
        assert bad.exit_code == 1 and bad.stderr.startswith("error: --month: ")
    finally:
        get_settings.cache_clear()


async def test_ola_report_attributes_a_late_pick_up_to_its_tier(api: httpx.AsyncClient) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import Table, insert

    from activities.tables import TicketFactRow
    from tests.api.test_service_levels_api import _row

    doc = customer_doc("acme", "10m")
    doc["escalation"]["tiers"][1]["pick_up_within"] = "10m"
    store = app_state(api._transport.app).engine  # type: ignore[attr-defined]
    agreement_store.add_version(
        store,
        agreement_file("acme-gold", "acme", doc).agreement,
        effective_from=agreement_store.EPOCH,
        source="test",
        agreement_id="acme-gold",
    )
    opened = datetime(2026, 11, 5, 9, tzinfo=UTC)
    rows = [
        {**_row("L-1", "P1", opened), "agreement_id": "acme-gold", "highest_tier": "team_lead",
         "team_lead_ack_seconds": 300.0},
        {**_row("L-2", "P1", opened), "agreement_id": "acme-gold", "highest_tier": "specialist",
         "team_lead_ack_seconds": 1500.0},
    ]  # fmt: skip
    rows[1]["ticket_id"] = "L-2"
    table: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
    with store.begin() as connection:
        connection.execute(insert(table), rows)
    answer = await api.get("/reports/ola", params={"agreement": "acme-gold", "month": "2026-11"})
    assert answer.status_code == 200, answer.text
    (lead,) = answer.json()["tiers"]
    assert (lead["tier"], lead["paged"], lead["in_time"], lead["missed_tickets"]) == (
        "team_lead",
        2,
        1,
        ["L-2"],
    )
    bad = await api.get("/reports/ola", params={"agreement": "acme-gold", "month": "2026-00"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.month")
