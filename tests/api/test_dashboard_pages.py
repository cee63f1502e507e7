"""The dashboard and the printable report as HTTP pages, without a browser: roles, refusals
that name the parameter, security headers, the static files they need, and a printed report
whose figures are the seeded facts' (tests/browser/dashboard_seed.py) and the JSON reports'."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from slaflow.roles import Role
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.api.pages import STATIC_DIR, format_duration, format_percent
from starter.api.routers.report_print import period_label
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import auth_headers, auth_settings
from tests.browser import dashboard_seed as seed

TODAY = date(2026, 11, 23)
FIRST, LAST = seed.period(TODAY)  # 2026-10-26 .. 2026-11-22
PERIOD = {"from": f"{FIRST}T00:00:00Z", "to": f"{LAST + timedelta(days=1)}T00:00:00Z"}
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    agreement = tmp_path / "agreement.yaml"
    agreement.write_text(seed.agreement_yaml())
    app = create_app(
        auth_settings(data_dir=tmp_path, agreement_file=agreement, temporal_address="127.0.0.1:1")
    )
    state = app_state(app)
    state.temporal = MustNotConnect(state.settings)
    async with app.router.lifespan_context(app):
        state.temporal = MustNotConnect(state.settings)  # pages and reports never need it
        seed.seed(state.engine, TODAY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers(Role.MANAGER)
        ) as client:
            yield client


async def test_dashboard_is_a_page_for_managers_with_its_scripts(api: httpx.AsyncClient) -> None:
    answer = await api.get("/dashboard", params={"from": "2026-10-26", "to": "2026-11-22"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page = answer.text
    assert 'value="2026-10-26"' in page and 'value="2026-11-22"' in page
    for asset in ("vendor/chart.umd.min.js", "dashboard.js", "dashboard.css", "slaflow.css"):
        assert f"/static/{asset}" in page
        served = await api.get(f"/static/{asset}", headers={"Authorization": ""})
        assert served.status_code == 200, asset  # static files are public, data is not
    assert "Chart.js v4" in (await api.get("/static/vendor/chart.umd.min.js")).text[:200]
    assert "MIT" in (STATIC_DIR / "vendor" / "chart.js-4.6.1.LICENSE.txt").read_text()


async def test_dashboard_refuses_what_it_cannot_show(api: httpx.AsyncClient) -> None:
    backwards = await api.get("/dashboard", params={"from": "2026-11-22", "to": "2026-11-01"})
    assert backwards.status_code == 422
    assert backwards.json()["detail"].startswith("to: 2026-11-01 is before from")
    bad_group = await api.get("/dashboard", params={"group_by": "colour"})
    assert bad_group.status_code == 422 and "group_by" in bad_group.json()["detail"]
    too_fast = await api.get("/dashboard", params={"refresh": 1})
    assert too_fast.status_code == 422 and "refresh" in too_fast.json()["detail"]
    long_customer = await api.get("/dashboard", params={"customer": "x" * 201})
    assert long_customer.status_code == 422 and "customer" in long_customer.json()["detail"]


@pytest.mark.parametrize("hostile", ["<script>", "Default", "a" * 65, "../default", "no-such"])
async def test_dashboard_refuses_an_agreement_it_does_not_hold(
    api: httpx.AsyncClient, hostile: str
) -> None:
    answer = await api.get("/dashboard", params={"agreement": hostile})
    assert answer.status_code == 422
    assert "agreement" in str(answer.json()["detail"])


async def test_dashboard_of_one_agreement_keeps_it_selected(api: httpx.AsyncClient) -> None:
    answer = await api.get("/dashboard", params={"agreement": "default"})
    assert answer.status_code == 200
    assert '<option value="default" selected>default</option>' in answer.text
    everyone = await api.get("/dashboard")
    assert '<option value="" selected>all</option>' in everyone.text


async def test_dashboard_of_one_customer(api: httpx.AsyncClient) -> None:
    answer = await api.get("/dashboard", params={"customer": "<acme>", "group_by": "agreement"})
    assert answer.status_code == 200
    assert 'name="customer" value="&lt;acme&gt;"' in answer.text  # escaped, kept in the form
    assert '<option value="agreement" selected>' in answer.text


@pytest.mark.parametrize("path", ["/dashboard", "/reports/print"])
async def test_pages_need_a_manager(api: httpx.AsyncClient, path: str) -> None:
    agent = await api.get(path, headers=auth_headers(Role.AGENT))
    assert agent.status_code == 403
    anonymous = await api.get(path, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    browser = await api.get(path, headers={"Authorization": "", **BROWSER})
    assert browser.status_code in (302, 303, 307)
    assert browser.headers["location"].startswith("/login?next=")


async def test_printed_report_shows_the_json_reports_figures(api: httpx.AsyncClient) -> None:
    answer = await api.get("/reports/print", params=PERIOD)
    assert answer.status_code == 200, answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page = html.unescape(answer.text)
    sla = (await api.get("/reports/sla", params={**PERIOD, "group_by": "priority"})).json()
    deviations = (await api.get("/reports/deviations", params=PERIOD)).json()["deviations"]
    escalations = (await api.get("/reports/escalations", params=PERIOD)).json()

    assert "26 Oct 2026 \N{EN DASH} 22 Nov 2026" in page
    totals = sla["totals"]
    assert (totals["first_response_met"], totals["first_response_measured"]) == (13, 16)
    assert "81.3 %" in page and "13 of 16" in page  # 13/16 = 81.25 %, halves rounded up
    assert "75.0 %" in page and "12 of 16" in page
    for group in sla["groups"]:  # every priority's row, with its objective beside it
        row = page[page.index(f'<th scope="row">{group["group"]}</th>') :]
        row = row[: row.index("</tr>")]
        assert format_percent(group["first_response_compliance"]) in row
        assert format_percent(group["resolution_compliance"]) in row
        assert f"{group['resolution_met']}/{group['resolution_measured']}" in row
        assert format_duration(group["mtta_median_seconds"]) in row
    assert len(deviations) == seed.DEVIATIONS == page.count('class="deviation ')
    for deviation in deviations:
        for ticket_id in deviation["ticket_ids"]:
            assert f"<code>{ticket_id}</code>" in page
    for week in ("2026-W44", "2026-W45", "2026-W46", "2026-W47"):
        assert week in page
    reached = [t["reached"] for t in escalations["tiers"]]
    assert reached == seed.FUNNEL_REACHED
    assert f"{escalations['escalated_tickets']} of 16 tickets left the agent tier" in page
    assert "@page" in (STATIC_DIR / "report_print.css").read_text()


async def test_printed_report_refuses_a_backwards_period(api: httpx.AsyncClient) -> None:
    answer = await api.get(
        "/reports/print", params={"from": "2026-11-10T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("to: ")
    bad = await api.get("/reports/print", params={"from": "yesterday"})
    assert bad.status_code == 422 and "from" in bad.json()["detail"]


def test_period_labels_read_as_days_when_whole() -> None:
    day = datetime(2026, 10, 26, tzinfo=UTC)
    assert period_label(day, day + timedelta(days=28)) == "26 Oct 2026 \N{EN DASH} 22 Nov 2026"
    assert period_label(day, day + timedelta(days=1)) == "26 Oct 2026"
    assert period_label(day + timedelta(hours=9), day + timedelta(hours=17)) == (
        "26 Oct 2026 09:00 \N{EN DASH} 26 Oct 2026 17:00 UTC"
    )


def test_numbers_read_as_people_read_them() -> None:
    assert [format_percent(v) for v in (13 / 16, 6 / 7, 1 / 3, 1.0, None)] == [
        "81.3 %",
        "85.7 %",
        "33.3 %",
        "100.0 %",
        "\N{EN DASH}",
    ]
    assert [format_duration(s) for s in (42, 17 * 60, 3.5 * 3600, 2.1 * 86400, -300)] == [
        "42 s",
        "17 min",
        "3.5 h",
        "2.1 d",
        "-5 min",
    ]


async def test_board_without_temporal_is_503_saying_so(tmp_path: Path) -> None:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", headers=auth_headers(Role.MANAGER)
        ) as client:
            answer = await client.get("/board")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("cannot reach Temporal at 127.0.0.1:1")
