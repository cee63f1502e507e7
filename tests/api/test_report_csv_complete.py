"""Every figure of a report's JSON is in its CSV: the report-level ones in the leading
`# key,value` rows, the items in the table (over the seeded facts, tests/unit/report_seed.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from starter import report_formats
from tests.api import test_reports_api
from tests.api.test_reports_api import get

api = test_reports_api.api  # the fixture: the app over the seeded facts


def same(cell: str, value: Any) -> bool:
    """A CSV cell says what the JSON value says (times compared as instants)."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value).lower()
    if isinstance(value, int | float):
        return float(cell) == value
    if isinstance(value, list):
        return cell == " ".join(str(v) for v in value)
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        return datetime.fromisoformat(cell) == datetime.fromisoformat(value)
    return cell == str(value)


def items(path: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's items, flat and in the CSV's row order, named as the CSV's columns."""
    if path == "sla":
        return [*report["groups"], report["totals"]]
    if path == "trends":
        return [
            {
                "group": series["group"],
                "week": point["week"],
                "week_start": point["week_start"],
                **{k: v for k, v in point["figures"].items() if k != "group"},
                **{f"change_{k}": v for k, v in point["change"].items()},
            }
            for series in report["series"]
            for point in series["points"]
        ]
    if path == "deviations":
        return report["deviations"]
    if path == "escalations":
        tiers = [{"section": "tier", "name": t.pop("tier"), **t} for t in report["tiers"]]
        customers = [{"section": "customer", **g} for g in report["customers"]]
        return tiers + customers + [{"section": "channel", **g} for g in report["channels"]]
    return report["flagged"]


COLLECTIONS = {"groups", "totals", "series", "deviations", "tiers", "customers", "channels"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("sla", {"group_by": "priority"}),
        ("sla", {"group_by": "customer", "counting": "completed_or_breached"}),
        ("trends", {"group_by": "priority"}),
        ("deviations", {"threshold": 0.1}),
        ("escalations", {"top": 2}),
        ("pauses", {"quick_repause_minutes": 20, "paused_share": 0.4}),
    ],
)
async def test_every_json_figure_is_in_the_csv(
    api: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> None:
    report = await get(api, f"/reports/{path}", **params)
    answer = await get(api, f"/reports/{path}.csv", **params)
    meta, rows = report_formats.read_csv(answer.text)
    level = {k: v for k, v in report.items() if k not in COLLECTIONS | {"flagged"}}
    assert set(meta) == set(level)
    for key, value in level.items():
        assert same(meta[key], value), (key, meta[key], value)
    wanted = items(path, report)
    assert len(rows) == len(wanted) and wanted
    for row, item in zip(rows, wanted, strict=True):
        for name, value in item.items():
            assert same(row[name], value), (path, name, row[name], value)


async def test_the_named_figures_are_there(api: httpx.AsyncClient) -> None:
    """What the issue listed as missing, by name."""
    pauses, _ = report_formats.read_csv((await get(api, "/reports/pauses.csv")).text)
    assert (pauses["quick_repause_seconds"], pauses["max_paused_share"]) == ("600.0", "0.5")
    assert {"tickets", "paused_tickets"} <= set(pauses)
    escalations, _ = report_formats.read_csv((await get(api, "/reports/escalations.csv")).text)
    assert escalations["resolved_tier_unknown"] == "0"
    sla, _ = report_formats.read_csv((await get(api, "/reports/sla.csv")).text)
    assert sla["agreement_version"] == "2" and sla["counting"] == "resolved"
    found, _ = report_formats.read_csv((await get(api, "/reports/deviations.csv")).text)
    assert found["previous_from"] == "2026-10-19T00:00:00Z"
    assert found["previous_to"] == "2026-11-02T00:00:00Z"
    assert found["drop_threshold"] == "0.05"
