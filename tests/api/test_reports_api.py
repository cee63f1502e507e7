"""The report endpoints over the seeded facts (tests/unit/report_seed.py): JSON figures, CSV
that agrees with them, refusals that name the parameter, the manager role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from slaflow.roles import Role
from starter import report_formats
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings
from tests.unit.report_seed import store_seeded

PERIOD = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-16T00:00:00Z"}
MANAGER = auth_headers(Role.MANAGER)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    state.temporal = MustNotConnect(state.settings)
    async with app.router.lifespan_context(app):  # schema and agreement version 1
        state.temporal = MustNotConnect(state.settings)
        store_seeded(state.engine)  # the seeded agreement becomes version 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=MANAGER
        ) as client:
            yield client


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    answer = await api.get(path, params={**PERIOD, **params})
    assert answer.status_code == 200, answer.text
    return answer.json() if not path.endswith(".csv") else answer


async def test_csv_routes_document_csv_and_json_errors(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    answers = paths["/reports/sla.csv"]["get"]["responses"]
    assert list(answers["200"]["content"]) == ["text/csv"]
    assert all(list(answers[code]["content"]) == ["application/json"] for code in ("401", "422"))
    parameters = {p["name"]: p for p in paths["/reports/sla"]["get"]["parameters"]}
    assert parameters["from"]["schema"]["anyOf"][0]["pattern"]
    assert {"customer", "agreement"} <= set(parameters)


def csv_rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.headers["content-type"].startswith("text/csv")
    return report_formats.read_csv(answer.text)[1]


def same(cell: str, value: Any) -> bool:
    """A CSV cell says what the JSON value says."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value).lower()
    if isinstance(value, int | float):
        return float(cell) == value
    if isinstance(value, list):
        return cell == " ".join(str(v) for v in value)
    return cell == str(value)


@pytest.mark.parametrize("group_by", ["priority", "channel", "customer", "tier", "week"])
async def test_csv_and_json_agree(api: httpx.AsyncClient, group_by: str) -> None:
    report = await get(api, "/reports/sla", group_by=group_by)
    rows = csv_rows(await get(api, "/reports/sla.csv", group_by=group_by))
    groups = [*report["groups"], report["totals"]]
    assert [r["group"] for r in rows] == [g["group"] for g in groups]
    for row, group in zip(rows, groups, strict=True):
        assert set(row) == set(group)
        for name, value in group.items():
            assert same(row[name], value), (group["group"], name, row[name], value)


async def test_sla_by_priority(api: httpx.AsyncClient) -> None:
    report = await get(api, "/reports/sla", group_by="priority")
    assert report["from"] == "2026-11-02T00:00:00Z" and report["to"] == "2026-11-16T00:00:00Z"
    assert report["agreement_version"] == 2 and report["availability_objective"] == 0.999
    p1 = next(g for g in report["groups"] if g["group"] == "P1")
    assert (p1["first_response_met"], p1["first_response_measured"]) == (2, 3)
    assert p1["first_response_objective"] == 0.95 and p1["mtta_median_seconds"] == 300
    assert report["totals"]["opened"] == 6 and report["totals"]["mttr_median_seconds"] == 10800


async def test_dates_without_a_zone_are_utc(api: httpx.AsyncClient) -> None:
    dated = await api.get("/reports/sla", params={"from": "2026-11-02", "to": "2026-11-16"})
    assert dated.status_code == 200, dated.text
    assert dated.json() == await get(api, "/reports/sla")


async def test_trends_deviations_escalations_pauses(api: httpx.AsyncClient) -> None:
    trends = await get(api, "/reports/trends")
    assert trends["weeks"] == ["2026-W45", "2026-W46"]
    w45 = trends["series"][0]["points"][0]
    assert w45["week_start"] == "2026-11-02T00:00:00Z" and w45["change"]["opened"] == 3
    trend_rows = csv_rows(await get(api, "/reports/trends.csv", group_by="priority"))
    assert [(r["group"], r["week"], r["opened"]) for r in trend_rows] == [
        ("P1", "2026-W45", "2"),
        ("P1", "2026-W46", "1"),
        ("P2", "2026-W45", "2"),
        ("P2", "2026-W46", "0"),
        ("P3", "2026-W45", "0"),
        ("P3", "2026-W46", "1"),
    ]

    found = await get(api, "/reports/deviations", threshold=0.1)
    assert [(d["group"], d["target"], d["ticket_ids"]) for d in found["deviations"]] == [
        ("P1", "resolution", ["T2"]),
        ("P1", "first_response", ["T2"]),
    ]
    assert found["previous_from"] == "2026-10-19T00:00:00Z"
    deviation_rows = csv_rows(await get(api, "/reports/deviations.csv", threshold=0.1))
    assert [(r["reasons"], r["ticket_ids"]) for r in deviation_rows] == [
        ("below_objective dropped", "T2")
    ] * 2

    escalations = await get(api, "/reports/escalations", top=1)
    assert [t["resolved"] for t in escalations["tiers"]] == [3, 1, 0, 1]
    assert [c["name"] for c in escalations["customers"]] == ["ACME"]
    escalation_rows = csv_rows(await get(api, "/reports/escalations.csv", top=1))
    assert [(r["section"], r["name"]) for r in escalation_rows] == [
        ("tier", "agent"),
        ("tier", "team_lead"),
        ("tier", "specialist"),
        ("tier", "management"),
        ("customer", "ACME"),
        ("channel", "phone"),
    ]

    audit = await get(api, "/reports/pauses")
    assert [(t["ticket_id"], t["flags"]) for t in audit["flagged"]] == [
        ("T3", ["quick_repause"]),
        ("T4", ["long_pause"]),
    ]
    assert audit["quick_repause_seconds"] == 600 and audit["max_paused_share"] == 0.5
    wider = await get(api, "/reports/pauses", quick_repause_minutes=20, paused_share=0.4)
    assert [t["ticket_id"] for t in wider["flagged"]] == ["T3", "T5", "T4"]
    pause_rows = csv_rows(await get(api, "/reports/pauses.csv"))
    assert [(r["ticket_id"], r["flags"], r["paused_share"]) for r in pause_rows] == [
        ("T3", "quick_repause", "0.5"),
        ("T4", "long_pause", "0.8"),
    ]


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/reports/sla", {**PERIOD, "to": "2026-11-01T00:00:00Z"}, "to: "),
        ("/reports/sla.csv", {**PERIOD, "to": PERIOD["from"]}, "to: "),
        ("/reports/sla", {"group_by": "team"}, "query.group_by: Input should be"),
        ("/reports/sla", {"from": "0001-01-01T00:00:00Z"}, "from: 0001-01-01T00:00:00+00:00 is"),
        (
            "/reports/sla",
            {"to": "9999-12-31"},
            "to: 9999-12-31T00:00:00+00:00 is outside 1970 to 2999",
        ),
        ("/reports/trends", {"from": "1970-01-01", "to": "2999-01-01"}, "from: a period spans"),
        ("/reports/pauses", {"quick_repause_minutes": "1e308"}, "query.quick_repause_minutes: "),
        ("/reports/sla", {"from": "last tuesday"}, "query.from: String should match pattern"),
        ("/reports/sla", {"to": "0.5"}, "query.to: String should match pattern"),
        ("/reports/sla.csv", {"to": "2026-02-30"}, "to: '2026-02-30' is not a valid date"),
        ("/reports/trends", {"group_by": "week"}, "group_by: trends are per week already"),
        ("/reports/deviations", {"threshold": "2"}, "query.threshold: "),
        ("/reports/escalations", {"top": "0"}, "query.top: "),
        ("/reports/pauses", {"paused_share": "0"}, "query.paused_share: "),
        ("/reports/pauses", {"quick_repause_minutes": "-1"}, "query.quick_repause_minutes: "),
        ("/reports/sla", {"counting": "everything"}, "query.counting: Input should be"),
        ("/reports/trends.csv", {"counting": ""}, "query.counting: "),
        ("/reports/deviations", {"counting": "RESOLVED"}, "query.counting: "),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    api: httpx.AsyncClient, path: str, params: dict[str, str], named: str
) -> None:
    answer = await api.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(named) or named in answer.json()["detail"]


async def test_reports_need_the_manager_role(api: httpx.AsyncClient) -> None:
    nobody = await api.get("/reports/sla", headers={"Authorization": ""})
    assert nobody.status_code == 401
    agent = await api.get("/reports/sla.csv", headers=auth_headers(Role.AGENT))
    assert agent.status_code == 403 and "manager" in agent.json()["detail"]
    assert (await api.get("/reports/pauses", headers=auth_headers(Role.ADMIN))).status_code == 200
