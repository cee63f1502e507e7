"""`GET /reports/credits(.csv)` and `slaflow credits` on a seeded month: what is owed and why,
ticket by ticket; hostile input refused naming the field."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, insert

from activities import agreement_store
from activities.tables import TicketFactRow
from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.cli_credits import render
from starter.credits_service import CreditReport
from tests.api.test_service_levels_api import _row
from tests.api_support import auth_headers, auth_settings
from tests.factories import agreement_file, customer_doc

NOV = datetime(2026, 11, 1, tzinfo=UTC)
RULES = [{"target": "resolution", "priority": "P1", "credit_percent": 5, "cap_percent": 20}]


def seed(engine: Any) -> None:
    """acme-gold (fee 8,000 EUR): 5 missed P1 resolutions in November (25 % -> capped 20 %),
    one in December; a named ticket whose customer is a formula."""
    doc = customer_doc("acme", "10m", credits=RULES, monthly_fee=8000, currency="EUR")
    agreement_store.seed_file(engine, agreement_file("acme-gold", "acme", doc))
    rows = []
    for i in range(5):
        row = _row(f"A-{i}", "P1", NOV + timedelta(days=i + 1), resolution_breached=True)
        rows.append({**row, "agreement_id": "acme-gold", "customer": "acme"})
    late = _row("A-DEC", "P1", datetime(2026, 12, 2, tzinfo=UTC), resolution_breached=True)
    rows.append({**late, "agreement_id": "acme-gold", "customer": "acme"})
    rows.append({**_row("=HYPERLINK(1)", "P1", NOV + timedelta(days=9), True),
                 "agreement_id": "acme-gold", "customer": "acme"})  # fmt: skip
    table: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    async with app.router.lifespan_context(app):
        seed(app_state(app).engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers(Role.MANAGER)
        ) as client:
            yield client


async def test_a_seeded_month_owes_the_capped_credit_ticket_by_ticket(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.get("/reports/credits", params={"customer": "acme", "month": "2026-11"})
    assert answer.status_code == 200, answer.text
    report = CreditReport.model_validate(answer.json())
    (s,) = report.statements
    (rule,) = s.rules
    # 6 misses in November x 5 % = 30 %, capped at 20 %: 20 % of 8,000 = 1,600 EUR
    assert (rule.misses, rule.earned_percent, rule.owed_percent, rule.capped) == (6, 30, 20, True)
    assert (s.owed_percent, s.owed_amount, s.currency) == (20, 1600, "EUR")
    assert "A-DEC" not in {line.ticket_id for line in s.lines}
    text = render(report)
    assert text.splitlines()[0].endswith(": 20 % of the monthly fee = 1,600.00 EUR")
    assert "6 missed, 30 % earned, capped at 20 % -> 20 %" in text


async def test_the_csv_has_a_row_per_miss_and_no_formula(api: httpx.AsyncClient) -> None:
    answer = await api.get("/reports/credits.csv", params={"customer": "acme", "month": "2026-11"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["row"] for r in rows].count("miss") == 6
    assert rows[-1]["row"] == "owed" and rows[-1]["owed_amount"] == "1600.0"
    assert "'=HYPERLINK(1)" in {r["ticket_id"] for r in rows}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"customer": "acme", "month": "2026-13"}, 422, "query.month"),
        ({"customer": "acme", "month": "November"}, 422, "query.month"),
        ({"customer": "acme"}, 422, "query.month"),
        ({"month": "2026-11"}, 422, "query.customer"),
        ({"customer": "x" * 201, "month": "2026-11"}, 422, "query.customer"),
        ({"customer": "nobody", "month": "2026-11"}, 404, "query.customer"),
    ],
)
async def test_hostile_queries_are_refused_naming_the_field(
    api: httpx.AsyncClient, params: dict[str, str], status: int, field: str
) -> None:
    for path in ("/reports/credits", "/reports/credits.csv"):
        answer = await api.get(path, params=params)
        assert answer.status_code == status and answer.json()["detail"].startswith(field)


async def test_only_managers_may_read_it(api: httpx.AsyncClient) -> None:
    params = {"customer": "acme", "month": "2026-11"}
    answer = await api.get("/reports/credits", params=params, headers=auth_headers(Role.AGENT))
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customer", "acme", "--month", "2026-1"], "error: --month: '2026-1' is not a month"),
        (["--customer", " ", "--month", "2026-11"], "error: --customer: give the customer's id"),
    ],
)
def test_cli_refuses_bad_options_in_one_line(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from starter.cli import app as cli_app

    result = CliRunner().invoke(cli_app, ["credits", *args])
    assert result.exit_code == 1 and result.stderr.strip().startswith(message)
