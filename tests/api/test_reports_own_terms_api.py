"""The hand-worked period of tests/unit/test_report_own_terms.py through the database: the
JSON, the CSV, the CLI and the printable report agree that each ticket is held to the version
it pinned and that one customer's spellings are one group under its name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from activities.agreement_store import add_version
from activities.db import make_engine
from activities.facts import upsert_facts
from activities.tables import CustomerRow
from slaflow.settings import get_settings
from starter import report_formats
from starter.api.deps import app_state, prepare_database
from starter.api.main import create_app
from starter.cli import app as cli
from tests.api.test_api_validation import MustNotConnect
from tests.api.test_reports_api import MANAGER
from tests.api_support import auth_settings
from tests.factories import make_agreement
from tests.unit.report_seed import as_facts
from tests.unit.test_report_own_terms import ROWS

PERIOD = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-09T00:00:00Z"}


def seed(engine: Engine) -> None:
    """Version 1 is the agreement file's; the tickets pin version 2 (99 % of resolutions) and
    version 3 (75 %, from Wednesday): ROWS' versions 1 and 2 shifted by one."""
    for percent, effective in ((99, datetime(2026, 1, 1)), (75, datetime(2026, 11, 4))):
        add_version(
            engine,
            make_agreement(
                service_levels=[{"target": "resolution", "percent": percent, "window": "month"}]
            ),
            effective_from=effective.replace(tzinfo=UTC),
            source="test",
        )
    for row in ROWS:
        assert row.agreement_version is not None
        upsert_facts(
            engine,
            as_facts(row.model_copy(update={"agreement_version": row.agreement_version + 1})),
        )
    with Session(engine) as session:
        session.add(CustomerRow(id="acme", name="Acme Corp"))
        session.commit()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    prepare_database(engine, settings)
    seed(engine)
    engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(
        cli, ["report", *args, "--from", PERIOD["from"], "--to", PERIOD["to"]]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_json_csv_cli_and_print_agree(data_dir: Path) -> None:
    application = create_app(auth_settings(data_dir=data_dir, temporal_address="127.0.0.1:1"))
    state = app_state(application)
    async with application.router.lifespan_context(application):
        state.temporal = MustNotConnect(state.settings)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=MANAGER
        ) as api:
            params = {**PERIOD, "group_by": "customer"}
            report = (await api.get("/reports/sla", params=params)).json()
            csv_text = (await api.get("/reports/sla.csv", params=params)).text
            printed = (await api.get("/reports/print", params=params)).text
    groups = {g["group"]: g for g in report["groups"]}
    assert list(groups) == ["acme", "globex ltd"]
    acme = groups["acme"]
    assert (acme["group_name"], acme["opened"], acme["resolution_met"]) == ("Acme Corp", 3, 2)
    assert acme["resolution_objective"] == pytest.approx(0.91)  # (99 + 99 + 75) / 3
    assert acme["resolution_meets_objective"] is False
    totals = report["totals"]
    assert totals["resolution_objective"] == pytest.approx(0.87)  # (99 + 99 + 75 + 75) / 4
    assert totals["resolution_meets_objective"] is False
    _, rows = report_formats.read_csv(csv_text)
    assert [(r["group"], r["group_name"], r["resolution_meets_objective"]) for r in rows] == [
        ("acme", "Acme Corp", "false"),
        ("globex ltd", "Globex  Ltd", "true"),
        ("all", "all", "false"),
    ]
    assert json.loads(_cli("sla", "--group-by", "customer", "--json")) == report
    table = _cli("sla", "--group-by", "customer")
    acme_line = next(line for line in table.splitlines() if line.startswith("Acme Corp"))
    assert "66.7% (2/3)" in acme_line and "91.0%" in acme_line
    assert "Acme Corp" in printed and ">acme<" not in printed


@pytest.mark.parametrize("spelling", ["acme", "ACME Corp", "  acme   CORP "])
def test_a_customer_filter_takes_any_spelling_of_the_customer(
    data_dir: Path, spelling: str
) -> None:
    answer = json.loads(_cli("sla", "--customer", spelling, "--json"))
    assert answer["totals"]["opened"] == 3  # R1, R2, R4
    unknown = json.loads(_cli("sla", "--customer", "globex ltd", "--json"))
    assert unknown["totals"]["opened"] == 1  # R3, spelled "Globex  Ltd"
