"""The Slack stand-in's page in headless Chromium: a person clicks Acknowledge on a ticket's
message, the page posts a signed interaction to slaflow (as Slack would), and the ticket's
workflow records the acknowledgement by the matrix contact behind that Slack user."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from slaflow.tickets import EventKind, TicketView
from standins.slack_api import SlackStandin
from tests.integration.conftest import eventually, ticket_message

pytestmark = [pytest.mark.browser, pytest.mark.integration]

AGENT_SLACK_ID, AGENT_NAME = "UAGE1", "agent-1"  # tests/factories.py's escalation matrix


async def test_acknowledge_clicked_on_the_standin_page_acknowledges_the_ticket(
    page: Page,
    api: httpx.AsyncClient,
    slack: SlackStandin,
    served_api: str,
    new_ticket: Callable[..., dict[str, Any]],
    artifacts: Path,
) -> None:
    body = new_ticket(priority="P2", subject="Payment page shows a blank screen")
    opened = await api.post("/tickets", json=body)
    assert opened.status_code == 201, opened.text
    ticket_id = body["ticket_id"]
    channel, ts = await ticket_message(slack, ticket_id)

    await page.goto(f"{slack.url}/?channel={channel}")  # other tickets may post meanwhile
    await page.fill("#as-user", AGENT_SLACK_ID)
    button = page.locator(
        f'.actions button[data-channel="{channel}"][data-ts="{ts}"][data-action="acknowledge"]'
    )
    await expect(button).to_have_count(1)
    await button.click()
    await expect(page.locator("#outcome")).to_have_text("the app answered HTTP 200")

    async def acknowledged() -> TicketView | None:
        answer = await api.get(f"/tickets/{ticket_id}")
        assert answer.status_code == 200, answer.text
        view = TicketView.model_validate(answer.json())
        return view if view.acknowledged_by is not None else None

    view = await eventually(acknowledged, what=f"{ticket_id} acknowledged")
    assert view.status == "acknowledged"
    assert view.acknowledged_by is not None and view.acknowledged_by.startswith(AGENT_NAME)
    ack = [e for e in view.events if e.kind == EventKind.ACKNOWLEDGED]
    assert len(ack) == 1 and ack[0].actor.startswith(AGENT_NAME), ack

    # The page reloads itself and shows slaflow's verdict to the clicker.
    answer = page.locator(".answer").filter(has_text=f"acknowledged ticket {ticket_id}")
    await expect(answer).to_be_visible(timeout=15_000)
    await page.screenshot(path=str(artifacts / "slack-standin-acknowledged.png"), full_page=True)
