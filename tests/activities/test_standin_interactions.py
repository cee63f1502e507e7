"""The Slack stand-in's clicking half: buttons on the page, signed interactions, modals,
response_urls, slash commands. A small recording app plays slaflow's part."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from activities.notify_slack import action_buttons
from standins.slack_api import TRIGGER_TTL_SECONDS, SlackStandin, create_slack_standin

SECRET = "standin-test-secret"
TOKEN = "xoxb-standin-test"


class Receiver:
    """An app that records what Slack (the stand-in) sends it and answers as told."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.answer: dict[str, Any] | None = None
        self.app = FastAPI()

        @self.app.post("/slack/{what}")
        async def receive(what: str, request: Request) -> Response:
            self.requests.append((await request.body(), dict(request.headers)))
            if self.answer is not None:
                return Response(json.dumps(self.answer), media_type="application/json")
            return Response(status_code=200)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(parse_qs(body.decode())["payload"][0]) for body, _ in self.requests]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    made = Receiver()
    with SlackStandin(app=made.app) as server:  # SlackStandin serves any app on a thread
        yield made, server.url


@pytest.fixture
def standin(receiver: tuple[Receiver, str]) -> Iterator[SlackStandin]:
    app = create_slack_standin(
        SECRET,
        TOKEN,
        f"{receiver[1]}/slack/interactions",
        command_url=f"{receiver[1]}/slack/commands",
    )
    with SlackStandin(app=app) as server:
        yield server


def _post_with_buttons(standin: SlackStandin, ticket_id: str = "T-7") -> tuple[str, str]:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "New ticket <@UAGE1>"}},
        action_buttons(ticket_id),
    ]
    posted = httpx.post(
        standin.base_url + "chat.postMessage",
        json={"channel": "#agents", "text": "New ticket", "blocks": blocks},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    return posted["channel"], posted["ts"]


def test_page_renders_buttons_and_offers_mentioned_users(standin: SlackStandin) -> None:
    _post_with_buttons(standin)
    standin.add_user("ULEA1", "Lea Lead", "lea@example.com")
    page = httpx.get(standin.url + "/").text
    for label in ("Acknowledge", "Responded", "Take ownership", "Escalate", "Resolve"):
        assert f">{label}</button>" in page
    assert 'data-action="acknowledge"' in page
    assert "/_standin/click" in httpx.get(standin.url + "/_standin/static/slack_page.js").text
    assert '<option value="ULEA1">' in page and '<option value="UAGE1">' in page
    assert "Interactions go to http://" in page


def test_click_posts_a_block_actions_signed_as_slack_signs(
    standin: SlackStandin, receiver: tuple[Receiver, str]
) -> None:
    channel, ts = _post_with_buttons(standin)
    result = httpx.post(
        standin.url + "/_standin/click",
        json={"channel": channel, "ts": ts, "action_id": "acknowledge", "user": "UAGE1"},
    ).json()
    assert result["ok"] is True and result["status"] == 200

    ((body, headers),) = receiver[0].requests
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    (payload,) = receiver[0].payloads()
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "UAGE1"
    assert payload["channel"]["id"] == channel and payload["container"]["message_ts"] == ts
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"], action["type"]) == (
        "acknowledge",
        "T-7",
        "button",
    )
    assert payload["trigger_id"] == result["trigger_id"]
    assert payload["response_url"] == result["response_url"]
    assert payload["response_url"].startswith(standin.url + "/_standin/response/")


def test_response_url_records_the_answer_and_the_page_shows_it(standin: SlackStandin) -> None:
    channel, ts = _post_with_buttons(standin)
    result = httpx.post(
        standin.url + "/_standin/click",
        json={"channel": channel, "ts": ts, "action_id": "assign", "user": "UAGE1"},
    ).json()
    said = httpx.post(
        result["response_url"], json={"response_type": "ephemeral", "text": "done: yours"}
    )
    assert said.json() == {"ok": True}
    (entry,) = httpx.get(standin.url + "/_standin/responses").json()
    assert (entry["user"], entry["channel"], entry["body"]["text"]) == (
        "UAGE1",
        channel,
        "done: yours",
    )
    assert "done: yours" in httpx.get(standin.url + "/").text
    unknown = httpx.post(standin.url + "/_standin/response/nope", json={"text": "x"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "expired_url"


def test_click_without_an_app_or_on_unknown_things(standin: SlackStandin) -> None:
    channel, ts = _post_with_buttons(standin)
    click = standin.url + "/_standin/click"
    missing = httpx.post(click, json={"channel": channel, "ts": "1.2", "action_id": "resolve"})
    no_button = httpx.post(click, json={"channel": channel, "ts": ts, "action_id": "reopen"})
    assert (missing.status_code, missing.json()["error"]) == (404, "message_not_found")
    assert (no_button.status_code, no_button.json()["error"]) == (404, "action_not_found")
    standin.interaction_url = None
    nowhere = httpx.post(click, json={"channel": channel, "ts": ts, "action_id": "resolve"})
    assert nowhere.status_code == 502 and "no interaction_url" in nowhere.json()["error"]


async def test_views_open_takes_a_fresh_trigger_once_and_submit_sends_the_text(
    standin: SlackStandin, receiver: tuple[Receiver, str]
) -> None:
    channel, ts = await asyncio.to_thread(_post_with_buttons, standin)
    modal = {
        "type": "modal",
        "callback_id": "cb",
        "private_metadata": "meta",
        "title": {"type": "plain_text", "text": "Resolve ticket"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "label": {"type": "plain_text", "text": "Resolution note"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client = AsyncWebClient(token=TOKEN, base_url=standin.base_url, retry_handlers=[])
    async with httpx.AsyncClient(base_url=standin.url) as http:

        async def click(action_id: str) -> dict[str, Any]:
            body = {"channel": channel, "ts": ts, "action_id": action_id, "user": "UAGE1"}
            answer: dict[str, Any] = (await http.post("/_standin/click", json=body)).json()
            return answer

        async def views_open(trigger_id: str) -> dict[str, Any]:
            body = {"trigger_id": trigger_id, "view": modal}
            answer: dict[str, Any] = (
                await http.post("/api/views.open", json=body, headers=auth)
            ).json()
            return answer

        async def submit(view_id: str, text: str) -> httpx.Response:
            values = {"text": {"value": text}}
            return await http.post("/_standin/submit", json={"view_id": view_id, "values": values})

        clicked = await click("resolve")
        assert await views_open("made-up") == {"ok": False, "error": "invalid_trigger_id"}
        opened = await client.views_open(trigger_id=clicked["trigger_id"], view=modal)
        view_id = opened["view"]["id"]
        assert opened["ok"] is True and view_id.startswith("V")
        twice = await views_open(clicked["trigger_id"])
        assert twice["error"] == "invalid_trigger_id"  # a trigger is exchanged once
        assert "Resolution note" in (await http.get("/")).text  # the page shows the modal

        receiver[0].answer = {"response_action": "errors", "errors": {"text": "please write"}}
        assert (await submit(view_id, "")).json()["closed"] is False
        receiver[0].answer = None
        assert (await submit(view_id, "fixed it")).json()["closed"] is True
        submission = receiver[0].payloads()[-1]
        assert submission["type"] == "view_submission" and submission["user"]["id"] == "UAGE1"
        assert submission["view"]["private_metadata"] == "meta"
        assert submission["view"]["state"]["values"] == {
            "text": {"value": {"type": "plain_text_input", "value": "fixed it"}}
        }
        assert SignatureVerifier(SECRET).is_valid_request(*receiver[0].requests[-1])
        assert (await submit(view_id, "again")).status_code == 404  # closed

        # A trigger older than 3 s is expired, as Slack's are.
        later = await click("escalate")
        with standin.state.lock:  # issued a moment too long ago
            issued, user = standin.state.triggers[later["trigger_id"]]
            standin.state.triggers[later["trigger_id"]] = (issued - TRIGGER_TTL_SECONDS - 0.1, user)
        assert await views_open(later["trigger_id"]) == {"ok": False, "error": "expired_trigger_id"}


def test_slash_command_is_signed_and_its_answer_recorded(
    standin: SlackStandin, receiver: tuple[Receiver, str]
) -> None:
    receiver[0].answer = {"response_type": "ephemeral", "text": "T-7 is open"}
    result = httpx.post(
        standin.url + "/_standin/command", json={"text": "T-7", "user": "UAGE1"}
    ).json()
    assert result["status"] == 200 and result["body"]["text"] == "T-7 is open"
    body, headers = receiver[0].requests[-1]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert (form["command"], form["text"], form["user_id"]) == ("/sla", "T-7", "UAGE1")
    assert form["response_url"] == result["response_url"]
    assert httpx.get(standin.url + "/_standin/responses").json()[-1]["body"]["text"] == (
        "T-7 is open"
    )
