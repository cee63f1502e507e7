"""An email's "Open ticket" link in headless Chromium: the login page, back to the ticket page,
Acknowledge, and the page saying that the first-response clock still runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from slaflow.roles import Role
from slaflow.tickets import TicketView
from standins.mailbox import Mailbox
from tests.api_support import TOKENS
from tests.browser.conftest import log_in
from tests.integration.conftest import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LINK = re.compile(r"Open the ticket: (\S+)")


async def _emailed_link(mailbox: Mailbox, ticket_id: str) -> str:
    """The "Open the ticket" link of the first email about the ticket."""

    async def probe() -> str | None:
        for message in mailbox.messages():
            if ticket_id not in str(message["Subject"]):
                continue
            body = message.get_body(preferencelist=("plain",))
            found = LINK.search(body.get_content() if body else "")
            if found:
                return found.group(1)
        return None

    return await eventually(probe, what=f"an email about {ticket_id}")


async def test_the_emails_link_leads_to_the_page_where_the_agent_acknowledges(
    page: Page,
    api: httpx.AsyncClient,
    mailbox: Mailbox,
    served_api: str,
    new_ticket: Callable[..., dict[str, Any]],
    artifacts: Path,
) -> None:
    body = new_ticket(priority="P3", subject="Printer on floor 2 is offline")
    assert (await api.post("/tickets", json=body)).status_code == 201
    ticket_id = body["ticket_id"]
    link = await _emailed_link(mailbox, ticket_id)
    path = urlsplit(link).path
    assert path == f"/tickets/{ticket_id}"  # the public URL's host is the test's served API

    await log_in(page, served_api, path, token=TOKENS[Role.AGENT])
    assert page.url == f"{served_api}{path}", "the login should send the browser back"
    await expect(page.locator("#subject")).to_have_text("Printer on floor 2 is offline")
    await expect(page.locator("#clocks tbody tr")).to_have_count(2)
    await expect(page.locator("#paged")).to_contain_text("not acknowledged")
    await expect(page.locator("#history")).to_contain_text("opened")

    async with page.expect_navigation():
        await page.click("form.action-acknowledge button")
    assert page.url.endswith(f"/tickets/{ticket_id}?done=acknowledge")
    notice = page.locator("#notice")
    await expect(notice).to_contain_text("Acknowledging is not responding")
    await expect(notice).to_contain_text("left)")
    await expect(page.locator("form.action-acknowledge")).to_have_count(0)
    await expect(page.locator("form.action-respond button")).to_have_text("Responded")
    await page.screenshot(path=str(artifacts / "ticket-page.png"), full_page=True)

    answer = await api.get(f"/tickets/{ticket_id}")
    view = TicketView.model_validate(answer.json())
    assert view.status == "acknowledged"
    assert view.acknowledged_by is not None and view.acknowledged_by.startswith("agent token")
