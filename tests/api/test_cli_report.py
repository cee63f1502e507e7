"""`slaflow report ...` on the seeded facts, read from the database with no Temporal: the
table, CSV and JSON say the same figures as the service; bad options exit 1 naming them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.db import make_engine
from slaflow.reports import GroupBy
from slaflow.settings import get_settings
from starter import report_formats, reports_service
from starter.api.deps import prepare_database
from starter.cli import app
from tests.unit.report_seed import END, START, store_seeded

runner = CliRunner()
PERIOD = ["--from", "2026-11-02", "--to", "2026-11-16T00:00:00Z"]


@pytest.fixture(autouse=True)
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    prepare_database(engine, settings)
    store_seeded(engine)
    engine.dispose()
    yield
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_is_the_service_report() -> None:
    engine = make_engine(get_settings().resolved_database_url)
    expected = reports_service.sla(engine, reports_service.Period(START, END), GroupBy.CHANNEL)
    engine.dispose()
    answer = json.loads(run("sla", *PERIOD, "--group-by", "channel", "--json"))
    assert answer == json.loads(expected.model_dump_json())
    assert answer["from"] == "2026-11-02T00:00:00Z" and answer["totals"]["opened"] == 6


def test_table_shows_compliance_objective_and_times() -> None:
    out = run("sla", *PERIOD)
    assert "SLA report by priority, 2026-11-02 to 2026-11-16 UTC (by opened_at" in out
    p1 = next(line for line in out.splitlines() if line.startswith("P1 "))
    # 2 of 3 first responses met against 95 %; resolutions 1 of 2 against 90 %; MTTA 5m / 17m
    assert "66.7% (2/3)" in p1 and "95.0%" in p1 and "50.0% (1/2)" in p1 and "90.0%" in p1
    assert "5m / 17m" in p1
    total = next(line for line in out.splitlines() if line.startswith("all "))
    assert "66.7% (4/6)" in total and "80.0% (4/5)" in total


def test_csv_rows_per_group_then_all() -> None:
    meta, rows = report_formats.read_csv(run("sla", *PERIOD, "--group-by", "week", "--csv"))
    assert meta["counting"] == "resolved" and meta["group_by"] == "week"
    assert [(r["group"], r["opened"]) for r in rows] == [
        ("2026-W45", "4"),
        ("2026-W46", "2"),
        ("all", "6"),
    ]


def test_the_other_reports() -> None:
    assert "2026-W46" in run("trends", *PERIOD, "--group-by", "priority")
    deviations = run("deviations", *PERIOD, "--threshold", "0.1")
    assert "below_objective, dropped" in deviations and "T2" in deviations
    escalations = run("escalations", *PERIOD, "--top", "1")
    assert "2 of 6 tickets left the agent tier" in escalations and "ACME" in escalations
    audit = json.loads(run("pauses", *PERIOD, "--quick-repause", "20m", "--json"))
    assert [t["ticket_id"] for t in audit["flagged"]] == ["T3", "T5", "T4"]
    assert "T3" in run("pauses", *PERIOD)


def test_one_customers_report() -> None:
    result = runner.invoke(app, ["report", "sla", "--customer", "nobody", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["opened"] == 0
    grouped = runner.invoke(app, ["report", "sla", "--group-by", "agreement", "--csv"])
    assert grouped.exit_code == 0 and "\ndefault," in grouped.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sla", "--from", "2026-11-16", "--to", "2026-11-02"], "error: --to: 2026-11-02T00:00"),
        (["sla", "--group-by", "team"], "error: --group-by: 'team' is not one of priority,"),
        (["sla", "--from", "yesterday"], "error: --from: 'yesterday' is not an ISO 8601 date"),
        (["sla", "--to", "2026-02-30"], "error: --to: '2026-02-30' is not a valid date"),
        (["sla", "--csv", "--json"], "error: --csv and --json: choose one"),
        (["trends", "--group-by", "week"], "error: --group-by: 'week' is not one of"),
        (["deviations", "--threshold", "1.5"], "error: --threshold: 1.5 is not a fraction"),
        (["escalations", "--top", "0"], "error: --top: 0 is not at least 1"),
        (["pauses", "--quick-repause", "soon"], "error: --quick-repause: 'soon' is not"),
        (["pauses", "--paused-share", "0"], "error: --paused-share: 0 is not a fraction"),
        (["sla", "--agreement", "Bad Id"], "error: --agreement: String should match pattern"),
        (["escalations", "--customer", "x" * 201], "error: --customer: String should have at"),
        (["sla", "--counting", "all"], "error: --counting: 'all' is not one of resolved,"),
        (["deviations", "--counting", ""], "error: --counting: '' is not one of"),
    ],
)
def test_bad_options_exit_1_naming_them(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_period_ends_are_printed_to_the_second_or_as_a_day() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from starter.report_formats import format_moment

    now = datetime(2026, 12, 2, 14, 45, 9, 987654, tzinfo=UTC)
    assert format_moment(now) == "2026-12-02 14:45:09"
    assert format_moment(datetime(2026, 11, 2, tzinfo=UTC)) == "2026-11-02"
    berlin = timezone(timedelta(hours=1))
    assert format_moment(datetime(2026, 11, 2, 1, 0, tzinfo=berlin)) == "2026-11-02"
