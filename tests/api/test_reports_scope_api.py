"""Reports of one customer or agreement over HTTP: JSON, CSV, the printable page, and
hostile filters answered 422 naming the parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from activities.facts import upsert_facts
from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api.test_reports_api import csv_rows
from tests.api_support import auth_headers, auth_settings
from tests.unit.test_reports_per_customer import SPAN, _facts

DEMO = Path(__file__).resolve().parents[2] / "agreements" / "demo"
PERIOD = {"from": SPAN[0].isoformat(), "to": SPAN[1].isoformat()}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1", agreement_file=DEMO)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app_state(app)
        state.temporal = MustNotConnect(settings)
        for facts in (
            _facts("A1", "acme", "acme-gold", 5, 30),
            _facts("A2", "acme", "acme-gold", 20, 120, breached=True),
            _facts("G1", "globex", "globex-hosting", 3, 20),
        ):
            upsert_facts(state.engine, facts)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers(Role.MANAGER)
        ) as client:
            yield client


async def test_csv_of_one_customer_grouped_by_agreement(api: httpx.AsyncClient) -> None:
    answer = await api.get(
        "/reports/sla.csv", params={**PERIOD, "customer": "acme", "group_by": "agreement"}
    )
    assert answer.status_code == 200, answer.text
    rows = csv_rows(answer)  # past the leading `# key,value` rows
    assert [(r["group"], r["opened"], r["first_response_met"]) for r in rows] == [
        ("acme-gold", "2", "1"),
        ("all", "2", "1"),
    ]


async def test_the_printable_report_of_one_customer(api: httpx.AsyncClient) -> None:
    answer = await api.get("/reports/print", params={**PERIOD, "customer": "acme"})
    assert answer.status_code == 200, answer.text
    assert "ACME Corp (acme)" in answer.text
    assert "globex" not in answer.text.split("<article", 1)[1]
    everyone = await api.get("/reports/print", params={**PERIOD, "customer": ""})
    assert everyone.status_code == 200 and "all customers" in everyone.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/reports/sla", {"agreement": "x' OR '1'='1"}, "agreement"),
        ("/reports/trends.csv", {"agreement": "UPPER"}, "agreement"),
        ("/reports/escalations", {"customer": "x" * 201}, "customer"),
        ("/reports/print", {"agreement": "a/b"}, "agreement"),
        ("/reports/sla", {"group_by": "agreements"}, "group_by"),
    ],
)
async def test_hostile_filters_are_422_naming_the_parameter(
    api: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = await api.get(path, params={**PERIOD, **params})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"]
