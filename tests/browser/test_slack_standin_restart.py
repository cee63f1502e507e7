"""The Slack stand-in's page in headless Chromium, across a restart of the stand-in: the
workspace is still there (channels, a thread, a DM), Block Kit and mrkdwn are rendered, the
"Click as" choice and an open thread are remembered, and a click still reaches the app signed
as Slack signs it; a modal the app opens is filled in and submitted from the page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from playwright.async_api import Page, Route, expect
from playwright.async_api import Request as BrowserRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack_api import SlackStandin
from tests.browser.conftest import Served

pytestmark = [pytest.mark.browser]

SECRET, TOKEN = "browser-restart-secret", "xoxb-browser-restart"
AGENT = "UAGE1"
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: P1 breached"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*T-9* Checkout is _down_ <@UAGE1>"}},
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Tier*\nteam lead"},
            {"type": "mrkdwn", "text": "*Customer*\nAcme"},
        ],
    },
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened by `phone`"}]},
    {
        "type": "actions",
        "block_id": "ticket",
        "elements": [
            {
                "type": "button",
                "action_id": action,
                "text": {"type": "plain_text", "text": label},
                "value": "T-9",
                **({"style": "primary"} if action == "acknowledge" else {}),
            }
            for action, label in (("acknowledge", "Acknowledge"), ("assign", "Assign"))
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "assign",
    "title": {"type": "plain_text", "text": "Assign T-9"},
    "submit": {"type": "plain_text", "text": "Assign"},
    "blocks": [
        {
            "type": "input",
            "block_id": "owner",
            "label": {"type": "plain_text", "text": "Owner"},
            "element": {"type": "plain_text_input", "action_id": "name"},
        }
    ],
}


class App:
    """slaflow's part: verifies Slack's signature, answers clicks, opens a modal on Assign."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.refused = 0
        self.slack_api = ""
        self.app = FastAPI()
        verifier = SignatureVerifier(SECRET)

        @self.app.post("/slack/interactions")
        async def interactions(request: Request) -> Response:
            body = await request.body()
            if not verifier.is_valid_request(body, dict(request.headers)):
                self.refused += 1
                return Response(status_code=401)
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            self.payloads.append(payload)
            if payload["type"] == "block_actions":
                await self._act(payload)
            return Response(status_code=200)

        @self.app.post("/slack/commands")
        async def commands(request: Request) -> Response:
            body = await request.body()
            if not verifier.is_valid_request(body, dict(request.headers)):
                self.refused += 1
                return Response(status_code=401)
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.payloads.append({"type": "command", **form})
            answer = {"response_type": "ephemeral", "text": f"*{form['text']}* is on time"}
            return Response(json.dumps(answer), media_type="application/json")

    async def _act(self, payload: dict[str, Any]) -> None:
        action = payload["actions"][0]["action_id"]
        async with httpx.AsyncClient() as http:
            if action == "assign":
                opened = await AsyncWebClient(token=TOKEN, base_url=self.slack_api).views_open(
                    trigger_id=payload["trigger_id"], view=MODAL
                )
                assert opened["ok"]
            else:
                text = f"acknowledged T-9 as {payload['user']['id']}"
                await http.post(payload["response_url"], json={"text": text})


@pytest.fixture
def app() -> Iterator[tuple[App, str]]:
    made = App()
    with Served(made.app) as url:
        yield made, url


async def _local_only(page: Page) -> list[str]:
    left: list[str] = []

    async def guard(route: Route, request: BrowserRequest) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            left.append(request.url)
            await route.abort()

    await page.route("**/*", guard)
    return left


async def test_standin_page_survives_a_restart_and_clicks_still_reach_the_app(
    page: Page, app: tuple[App, str], tmp_path: Path, artifacts: Path
) -> None:
    receiver, url = app
    state = tmp_path / "slack-standin.sqlite3"
    first = SlackStandin(SECRET, TOKEN, state_path=state)
    first.start()
    port = first.port
    client = AsyncWebClient(token=TOKEN, base_url=first.base_url)
    root = await client.chat_postMessage(channel="#sla-p1", text="T-9 breached", blocks=BLOCKS)
    await client.chat_postMessage(channel="#sla-p1", text="*Escalated*", thread_ts=root["ts"])
    dm = await client.chat_postMessage(channel=AGENT, text="Please sign amendment A-1")
    first.add_user(AGENT, "Alice Agent")
    left = await _local_only(page)

    await page.goto(f"{first.url}/?channel={root['channel']}")
    await page.fill("#as-user", AGENT)
    thread = page.locator("details.thread")
    await thread.locator("summary").click()
    await expect(thread.locator(".replies")).to_contain_text("Escalated")
    first.stop()

    second = SlackStandin(SECRET, TOKEN, state_path=state, port=port)  # same origin
    second.start()
    try:
        receiver.slack_api = second.base_url
        second.interaction_url = f"{url}/slack/interactions"
        second.command_url = f"{url}/slack/commands"
        await page.reload()

        await expect(page.locator("#as-user")).to_have_value(AGENT)  # remembered
        await expect(page.locator(".sk-header")).to_have_text("\U0001f6a8 P1 breached")
        await expect(page.locator(".sk-fields .sk-field")).to_have_count(2)
        await expect(page.locator(".sk-field strong").first).to_have_text("Tier")
        body = page.locator("article.msg .body").first
        await expect(body.locator("strong").first).to_have_text("T-9")
        await expect(body.locator("em")).to_have_text("down")
        await expect(body.locator(".mention")).to_have_text("@Alice Agent")
        await expect(page.locator(".sk-context code")).to_have_text("phone")
        await expect(page.locator("hr.sk-divider")).to_have_count(1)
        await expect(thread).to_have_attribute("open", "")  # still expanded
        await expect(thread.locator("summary")).to_contain_text("1 reply")
        await expect(page.locator("time").first).to_have_text(re.compile(r"^\d{2}:\d{2}( [AP]M)?$"))
        await expect(page.locator(".sidebar .dms a")).to_have_text("Alice Agent1")

        ack = page.locator('.actions button[data-action="acknowledge"]')
        await ack.click()
        await expect(page.locator("#outcome")).to_have_text("the app answered HTTP 200")
        await expect(page.locator("article.answer")).to_contain_text(
            f"acknowledged T-9 as {AGENT}", timeout=15_000
        )
        await page.fill("#as-user", "U0SOMEONE")  # the answer was only for the clicker
        await expect(page.locator("article.answer")).to_be_hidden()
        await page.fill("#as-user", AGENT)
        await expect(page.locator("article.answer")).to_be_visible()
        [clicked] = [p for p in receiver.payloads if p["type"] == "block_actions"]
        assert clicked["user"]["id"] == AGENT and clicked["actions"][0]["value"] == "T-9"
        assert clicked["container"]["message_ts"] == root["ts"] and receiver.refused == 0

        await page.locator('.actions button[data-action="assign"]').click()
        modal = page.locator("form.modal")
        await expect(modal).to_be_visible(timeout=15_000)
        await expect(modal.locator("h2")).to_have_text("Assign T-9")
        await modal.locator("textarea").fill("Lena Lead")
        await page.screenshot(path=str(artifacts / "slack-standin-modal.png"))
        await modal.locator("button[type=submit]").click()
        await expect(page.locator("form.modal")).to_have_count(0, timeout=15_000)
        submitted = [p for p in receiver.payloads if p["type"] == "view_submission"]
        assert submitted[0]["view"]["state"]["values"]["owner"]["name"]["value"] == "Lena Lead"

        await page.locator(".sidebar .dms a").click()
        await expect(page.locator("h1")).to_have_text("Alice Agent")
        await expect(page.locator("article.msg .body")).to_have_text("Please sign amendment A-1")
        assert dm["channel"].startswith("D") and f"channel={dm['channel']}" in page.url

        await page.fill("#sla-text", "T-9")  # /sla typed here is answered here
        await page.click("#sla-run")
        await expect(page.locator("article.answer strong")).to_have_text("T-9", timeout=15_000)
        [command] = [p for p in receiver.payloads if p["type"] == "command"]
        assert (command["channel_id"], command["user_id"]) == (dm["channel"], AGENT)
        await page.screenshot(path=str(artifacts / "slack-standin-dm.png"), full_page=True)
    finally:
        second.stop()
    assert left == []
