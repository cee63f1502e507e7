"""The dashboard in headless Chromium: logged in through the login page, it draws the seeded
facts' figures (worked out in tests/browser/dashboard_seed.py), the live board shows open
tickets from Temporal, and the group and period filters redraw the charts."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import Engine

from activities import agreement_store
from activities.facts import upsert_facts
from slaflow.agreement_file import AgreementFile
from slaflow.customers import AgreementHeader, Customer, Rule
from slaflow.reports import FactRow
from slaflow.tickets import TicketStatus
from tests.api_support import auth_headers
from tests.browser import dashboard_seed as seed
from tests.browser.conftest import DashboardApp, log_in
from tests.factories import make_agreement
from tests.unit.report_seed import as_facts

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHART_DATA = """(id) => {
  const chart = Chart.getChart(id);
  if (!chart) return null;
  return {
    labels: chart.data.labels,
    datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
  };
}"""

INKED_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0, bars = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 0) inked += 1;
    // the first-response bars' blue, #2f5bd3
    if (Math.abs(pixels[i] - 47) < 8 && Math.abs(pixels[i + 1] - 91) < 8
        && Math.abs(pixels[i + 2] - 211) < 8 && pixels[i + 3] > 200) bars += 1;
  }
  return { inked, bars, total: pixels.length / 4 };
}"""


OVERFLOWING = """() => {
  const found = [];
  for (const table of document.querySelectorAll("table")) {
    if (table.scrollWidth > table.parentElement.clientWidth + 1) found.push(table.className);
    for (const cell of table.querySelectorAll("th, td")) {
      if (cell.scrollWidth > cell.clientWidth + 1) found.push(cell.textContent.trim());
    }
  }
  return found;
}"""


async def chart(page: Page, canvas_id: str) -> dict[str, Any]:
    data: dict[str, Any] | None = await page.evaluate(CHART_DATA, canvas_id)
    assert data is not None, f"no chart drawn on #{canvas_id}"
    return data


def series(data: dict[str, Any], label: str) -> list[Any]:
    return next(d["data"] for d in data["datasets"] if d["label"] == label)


async def refreshes(page: Page) -> int:
    """How many times the page has finished fetching and drawing everything."""
    count: int = await page.evaluate(
        "window.slaflowDashboard ? window.slaflowDashboard.refreshes : 0"
    )
    return count


async def refreshed_after(page: Page, count: int) -> None:
    """Every card drawn by a refresh that began after `count` had finished (each card draws
    as its data arrives, so one chart being ready says nothing of the others)."""
    await page.wait_for_function(
        "(n) => window.slaflowDashboard && window.slaflowDashboard.refreshes > n",
        arg=count,
        timeout=20_000,
    )


async def wait_for_labels(page: Page, canvas_id: str, labels: list[str]) -> dict[str, Any]:
    await page.wait_for_function(
        "([id, labels]) => { const c = Chart.getChart(id);"
        " return c && JSON.stringify(c.data.labels) === JSON.stringify(labels); }",
        arg=[canvas_id, labels],
        timeout=20_000,
    )
    return await chart(page, canvas_id)


def assert_compliance(data: dict[str, Any], expected: dict[str, list[Any]]) -> None:
    assert data["labels"] == expected["labels"]
    assert series(data, "First response met") == expected["first_response"]
    assert series(data, "Resolution met") == expected["resolution"]


async def open_board_tickets(url: str) -> list[str]:
    """Open tickets for the board: one already late, one nearly due, two with time to spare."""
    now = datetime.now(UTC)
    tickets = [
        ("Northwind", "P1", "phone", "Checkout returns HTTP 500", now - timedelta(minutes=15)),
        ("Contoso", "P1", "chat", "Login page times out", now - timedelta(minutes=8)),
        ("Fabrikam", "P2", "email", "Invoices missing VAT line", now),
        ("Northwind", "P3", "portal", "Export to CSV drops accents", now),
    ]
    ids = []
    async with httpx.AsyncClient(base_url=url, headers=auth_headers(), timeout=60) as api:
        for number, (customer, priority, channel, subject, opened) in enumerate(tickets):
            ticket_id = f"INC-{4101 + number}"  # this session's own dev server: unique here
            answer = await api.post(
                "/tickets",
                json={
                    "ticket_id": ticket_id,
                    "customer": customer,
                    "subject": subject,
                    "priority": priority,
                    "channel": channel,
                    "requester_email": "ops@example.com",
                    "opened_at": opened.isoformat(),
                },
            )
            assert answer.status_code == 201, answer.text
            ids.append(ticket_id)
        acked = await api.post(f"/tickets/{ids[3]}/acknowledge", json={})
        assert acked.status_code == 200, acked.text
    return ids


async def wait_for_board(page: Page, ticket_ids: list[str]) -> list[str]:
    """Visibility lags a new ticket by a moment: refresh until every one is listed."""
    deadline = time.monotonic() + 30
    while True:
        shown: list[str] = await page.eval_on_selector_all(
            "#board-tickets tbody tr[data-ticket]", "rows => rows.map(r => r.dataset.ticket)"
        )
        if all(t in shown for t in ticket_ids):
            return [t for t in shown if t in ticket_ids]
        assert time.monotonic() < deadline, f"board shows {shown}, not all of {ticket_ids}"
        await page.evaluate("window.slaflowDashboard.refresh()")


@pytest.fixture(scope="module")
def seeded(dashboard_app: DashboardApp) -> tuple[date, date]:
    """The sixteen tickets' facts in the dashboard's database; their first and last day."""
    today = datetime.now(UTC).date()
    seed.seed(dashboard_app.engine, today)
    return seed.period(today)


async def test_dashboard_draws_seeded_figures_and_filters_redraw_them(
    page: Page, dashboard_app: DashboardApp, seeded: tuple[date, date], artifacts: Path
) -> None:
    open_ids = await open_board_tickets(dashboard_app.url)
    first, last = seeded

    await log_in(page, dashboard_app.url, f"/dashboard?from={first}&to={last}&group_by=priority")
    assert page.url.startswith(f"{dashboard_app.url}/dashboard"), page.url

    # Compliance per priority against the objective, as worked out by hand.
    await refreshed_after(page, 0)
    compliance = await wait_for_labels(page, "chart-compliance", ["P1", "P2", "P3", "P4"])
    assert_compliance(compliance, seed.COMPLIANCE_BY_PRIORITY)
    expected = seed.COMPLIANCE_BY_PRIORITY
    assert series(compliance, "First response objective") == expected["first_response_objective"]
    assert series(compliance, "Resolution objective") == expected["resolution_objective"]
    pixels = await page.evaluate(INKED_PIXELS, "chart-compliance")
    assert pixels["inked"] > pixels["total"] // 20, pixels  # the canvas is drawn on
    assert pixels["bars"] > 500, pixels  # and the first-response bars are there, in blue

    mtta = await chart(page, "chart-mtta")
    assert len(mtta["labels"]) == 4
    assert series(mtta, "P1") == seed.P1_MTTA_MINUTES
    funnel = await chart(page, "chart-funnel")
    assert funnel["labels"] == ["Agent", "Team lead", "Specialist", "Management"]
    assert series(funnel, "Reached") == seed.FUNNEL_REACHED
    assert series(funnel, "Resolved there") == seed.FUNNEL_RESOLVED
    for canvas_id in ("chart-mtta", "chart-mttr", "chart-funnel"):
        drawn = await page.evaluate(INKED_PIXELS, canvas_id)
        assert drawn["inked"] > drawn["total"] // 50, (canvas_id, drawn)

    assert await page.locator("#deviations li.below_objective").count() == seed.DEVIATIONS
    assert "SEED-A2" in await page.locator("#deviations").inner_text()
    assert await page.locator("#slo-list li[data-objective]").count() == 3
    assert await page.locator("#kpi-first-response .kpi-value").inner_text() == "81.3 %"
    assert await page.locator("#kpi-resolution .kpi-value").inner_text() == "75.0 %"
    # the dashboard counts open breaches, and says so
    assert await page.locator("#counting").inner_text() == "completed_or_breached"

    # The live board: the late ticket leads, and its time left is negative.
    order = await wait_for_board(page, open_ids)
    assert order[0] == open_ids[0], order
    late_row = page.locator(f'#board-tickets tr[data-ticket="{open_ids[0]}"]')
    assert await late_row.get_attribute("class") == "breached"
    assert (await late_row.locator(".left").inner_text()).startswith("\N{MINUS SIGN}")
    assert await page.locator("#banner").is_hidden()

    # A click on the late ticket's cell lists that cell alone; "show all" lists everyone again.
    late: dict[str, str] = await page.evaluate(
        "(id) => window.slaflowDashboard.data.board.tickets.find((t) => t.ticket_id === id)",
        open_ids[0],
    )
    cell = page.locator(f'#board-grid td[data-tier="{late["tier"]}"][data-priority="P1"]')
    await cell.click()
    await expect(cell).to_have_class(re.compile(r"\bselected\b"))
    in_cell: list[str] = await page.eval_on_selector_all(
        "#board-tickets tbody tr[data-ticket]", "rows => rows.map(r => r.dataset.ticket)"
    )
    shown: list[dict[str, Any]] = await page.evaluate("window.slaflowDashboard.data.board.tickets")
    same_cell = [
        t["ticket_id"] for t in shown if t["tier"] == late["tier"] and t["priority"] == "P1"
    ]
    assert open_ids[0] in in_cell and in_cell == same_cell
    await page.click("#board-filter-clear")
    await expect(page.locator("#board-filter")).to_be_hidden()
    await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    # Group filter: compliance by channel.
    done = await refreshes(page)
    await page.select_option("select[name=group_by]", "channel")
    await refreshed_after(page, done)
    by_channel = await wait_for_labels(
        page, "chart-compliance", ["phone", "email", "chat", "portal"]
    )
    assert_compliance(by_channel, seed.COMPLIANCE_BY_CHANNEL)
    assert "group_by=channel" in page.url

    # Period filter: the last week alone.
    await page.fill("input[name=from]", (last - timedelta(days=6)).isoformat())
    done = await refreshes(page)
    await page.click("#filters button[type=submit]")
    await refreshed_after(page, done)
    last_week = await wait_for_labels(page, "chart-compliance", ["phone", "email", "portal"])
    assert_compliance(last_week, seed.COMPLIANCE_BY_CHANNEL_LAST_WEEK)
    funnel = await chart(page, "chart-funnel")
    assert series(funnel, "Reached") == [4, 2, 2, 1]  # A4 B4 C4 D4; A4 B4; A4 B4; B4
    await page.screenshot(path=str(artifacts / "dashboard-filtered.png"), full_page=True)


async def test_printable_report_prints_on_a4_pages_without_its_toolbar(
    page: Page, dashboard_app: DashboardApp, seeded: tuple[date, date], artifacts: Path
) -> None:
    first, last = seeded
    end = last + timedelta(days=1)
    await log_in(page, dashboard_app.url, f"/reports/print?from={first}&to={end}")
    await expect(page.locator("h1")).to_have_text(f"{first:%d %b %Y} \N{EN DASH} {last:%d %b %Y}")
    summary = page.locator(".summary")
    await expect(summary).to_contain_text("81.3 %")  # 13 of 16 first responses met
    await expect(summary).to_contain_text("75.0 %")  # 12 of 16 resolutions met
    await expect(page.locator(".deviation")).to_have_count(seed.DEVIATIONS)
    await expect(page.locator(".meta")).to_contain_text("counting: completed_or_breached")
    await page.screenshot(path=str(artifacts / "report-print-screen.png"), full_page=True)

    await page.emulate_media(media="print")
    await expect(page.locator(".toolbar")).to_be_hidden()
    breaks = await page.eval_on_selector_all(
        "section.break-before", "nodes => nodes.map(n => getComputedStyle(n).breakBefore)"
    )
    assert breaks == ["page", "page"], breaks
    await page.set_viewport_size({"width": 700, "height": 1000})  # A4 less its margins
    overflowing = await page.evaluate(OVERFLOWING)
    assert overflowing == [], f"wider than the printed page: {overflowing}"
    await page.screenshot(path=str(artifacts / "report-print.png"), full_page=True)
    pdf = await page.pdf(format="A4", print_background=True)
    (artifacts / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") + pdf.count(b"/Type /Page/") >= 3
    )


async def test_every_grouping_draws_the_groups_of_the_sla_report(
    page: Page, dashboard_app: DashboardApp, seeded: tuple[date, date]
) -> None:
    first, last = seeded
    await log_in(page, dashboard_app.url, f"/dashboard?from={first}&to={last}")
    await refreshed_after(page, 0)
    labels = {"team_lead": "Team lead", "agent": "Agent", "specialist": "Specialist"}
    labels["management"] = "Management"
    for group_by in ("customer", "tier", "week", "channel", "priority"):
        done = await refreshes(page)
        await page.select_option("select[name=group_by]", group_by)
        await refreshed_after(page, done)
        report = await page.evaluate("window.slaflowDashboard.data.sla")
        assert report["group_by"] == group_by
        groups = [labels.get(g["group"], g["group_name"]) for g in report["groups"]]
        drawn = await chart(page, "chart-compliance")
        assert drawn["labels"] == groups, group_by
        assert await page.locator("#compliance-title .group-name").inner_text() == group_by
        trend = await chart(page, "chart-mtta")
        assert len(trend["labels"]) == 4, group_by  # the four weeks, however grouped
    assert await page.locator("#banner").is_hidden()


def _second_agreement(engine: Engine, day: date) -> None:
    """Acme's own agreement (one objective: 99 % of P1 resolutions a month) and one ticket
    under it, opened on `day`: last in this module, so the figures above never see it."""
    header = AgreementHeader(
        id="acme-gold", customer=Customer(id="acme", name="Acme Corp"), rules=[Rule()]
    )
    objective = {"priority": "P1", "target": "resolution", "percent": 99, "window": "month"}
    terms = make_agreement(service_levels=[objective])
    stored = agreement_store.seed_file(
        engine, AgreementFile(source="test", header=header, agreement=terms)
    )
    opened = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    fact = FactRow(
        ticket_id="GOLD-1",
        customer="acme",
        agreement_id="acme-gold",
        priority="P1",
        channel="email",
        status=TicketStatus.RESOLVED,
        opened_at=opened,
        acknowledged_at=opened + timedelta(minutes=5),
        first_response_at=opened + timedelta(minutes=5),
        resolved_at=opened + timedelta(hours=1),
    )
    upsert_facts(engine, as_facts(fact, stored.number))


async def test_the_agreement_filter_scopes_figures_and_objectives(
    page: Page, dashboard_app: DashboardApp, seeded: tuple[date, date]
) -> None:
    first, last = seeded
    _second_agreement(dashboard_app.engine, last)
    await log_in(page, dashboard_app.url, f"/dashboard?from={first}&to={last}")
    await refreshed_after(page, 0)
    # Every agreement's objectives, each named: the default's three and acme-gold's one
    assert await page.locator("#slo-list li[data-objective]").count() == 4
    assert await page.locator("#slo-list li[data-agreement=acme-gold]").count() == 1
    everyone = await page.evaluate("window.slaflowDashboard.data.sla.totals.opened")
    done = await refreshes(page)
    await page.select_option("select[name=agreement]", "acme-gold")
    await refreshed_after(page, done)
    assert "agreement=acme-gold" in page.url
    assert await page.evaluate("window.slaflowDashboard.data.sla.totals.opened") == 1
    assert await page.locator("#slo-list li[data-objective]").count() == 1
    slo = await page.locator("#slo-list .slo-name").inner_text()
    assert slo == "P1 resolutions ≥ 99 %"
    assert "acme-gold v1" in await page.locator("#slo-list").locator("..").inner_text()
    done = await refreshes(page)
    await page.select_option("select[name=agreement]", "")
    await refreshed_after(page, done)
    assert await page.evaluate("window.slaflowDashboard.data.sla.totals.opened") == everyone
    assert await page.locator("#banner").is_hidden()
