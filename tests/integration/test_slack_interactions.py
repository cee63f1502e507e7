"""Slack as the cockpit, end to end: the stand-in's buttons drive real tickets.

The API runs under uvicorn on a real port (the stand-in posts signed interactions to it over
HTTP, as Slack would) next to the session's dev server, worker and stand-ins. Each click goes
through `/_standin/click`, which signs a `block_actions` exactly as Slack does; the app's
verdict comes back to the stand-in's `response_url` for that click.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest

from slaflow.tickets import EventKind, TicketView
from standins.slack_api import SlackStandin, StoredMessage
from tests.integration.conftest import click, eventually, ticket_message

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]
AGENT = ("UAGE1", "agent-1 <agent1@example.com>")  # tests.factories' matrix


async def _open(api: httpx.AsyncClient, body: dict[str, Any]) -> TicketView:
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 201, answer.text
    return TicketView.model_validate(answer.json())


async def _state(api: httpx.AsyncClient, ticket_id: str) -> TicketView:
    answer = await api.get(f"/tickets/{ticket_id}")
    assert answer.status_code == 200, answer.text
    return TicketView.model_validate(answer.json())


def _actions(blocks: list[Any] | None) -> list[str]:
    """The action ids of a message's buttons."""
    return [e["action_id"] for b in blocks or [] if b["type"] == "actions" for e in b["elements"]]


async def _answer(standin: httpx.AsyncClient, response_url: str) -> str:
    """What slaflow told the clicker through this click's response_url."""
    response_id = response_url.rpartition("/")[2]

    async def probe() -> str | None:
        for entry in (await standin.get("/_standin/responses")).json():
            if entry["id"] == response_id:
                assert entry["body"]["response_type"] == "ephemeral"
                return str(entry["body"]["text"])
        return None

    return await eventually(probe, what="slaflow's answer on the response_url")


async def _modal(standin: httpx.AsyncClient, ticket_id: str, seen: set[str]) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        for view in (await standin.get("/_standin/views")).json():
            if view["id"] not in seen and ticket_id in view["private_metadata"]:
                seen.add(view["id"])
                return dict(view)
        return None

    return await eventually(probe, what=f"a modal for {ticket_id}")


async def _through_modal(
    standin: httpx.AsyncClient,
    where: tuple[str, str],
    action_id: str,
    ticket_id: str,
    text: str,
    seen: set[str],
) -> str:
    clicked = await click(standin, where, action_id, AGENT[0])
    modal = await _modal(standin, ticket_id, seen)
    assert modal["user"] == AGENT[0] and modal["callback_id"] == "slaflow_command"
    submitted = await standin.post(
        "/_standin/submit", json={"view_id": modal["id"], "values": {"text": {"value": text}}}
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["closed"] is True, submitted.json()
    return await _answer(standin, clicked["response_url"])


async def test_acknowledge_button_acknowledges_as_the_matrix_contact(
    api: httpx.AsyncClient, slack: SlackStandin, standin: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)

    # Two clicks before the message is rewritten (a double click, or two people at once)
    clicks = await asyncio.gather(*(click(standin, where, "acknowledge", AGENT[0]) for _ in "12"))
    answers = sorted([await _answer(standin, c["response_url"]) for c in clicks])

    answer, refusal = answers
    assert answer.startswith(f"done: acknowledged ticket {opened.ticket_id}"), answer
    state = await _state(api, opened.ticket_id)
    assert state.status == "acknowledged"
    assert state.acknowledged_by == AGENT[1] and state.assignee == AGENT[1]
    acks = [e for e in state.events if e.kind is EventKind.ACKNOWLEDGED]
    assert [e.actor for e in acks] == [AGENT[1]]
    assert refusal.startswith("refused: the "), refusal
    assert f"page was already acknowledged by {AGENT[1]}" in refusal


async def test_acknowledge_rewrites_the_root_message_in_place(
    api: httpx.AsyncClient, slack: SlackStandin, standin: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)
    root = slack.state.find_message(*where)
    assert root is not None and root.thread_ts is None and root.edited_ts is None
    assert "acknowledge" in _actions(root.blocks)

    await _answer(standin, (await click(standin, where, "acknowledge", AGENT[0]))["response_url"])

    async def rewritten() -> StoredMessage | None:
        message = slack.state.find_message(*where)
        return message if message is not None and message.edited_ts else None

    after = await eventually(rewritten, what="the root message rewritten by chat.update")
    assert _actions(after.blocks) == ["respond", "assign", "escalate", "resolve"]  # no Acknowledge
    status = (after.blocks or [])[1]["text"]["text"]
    assert status.startswith(
        "*Acknowledged* by agent-1 &lt;agent1@example.com&gt; at the agent tier"
    ), status
    assert "acknowledged at agent, owner agent-1" in after.text
    page = (await standin.get("/")).text
    assert (
        "<strong>Acknowledged</strong> by agent-1 &lt;agent1@example.com&gt; at the agent tier"
        in page
    )
    roots = [m for m in slack.state.messages if m.channel == where[0] and not m.thread_ts]
    assert [m.ts for m in roots if opened.ticket_id in m.text] == [where[1]]  # no second root

    async def sla(text: str) -> str:
        answer = await standin.post("/_standin/command", json={"text": text, "user": AGENT[0]})
        assert answer.json()["status"] == 200, answer.text
        assert answer.json()["body"]["response_type"] == "ephemeral"
        return str(answer.json()["body"]["text"])

    shown = await sla(opened.ticket_id)
    assert (
        "Status: *acknowledged*" in shown and "Owner: agent-1 &lt;agent1@example.com&gt;" in shown
    )
    assert "First response: " in shown and "Resolution: due " in shown

    async def listed() -> str | None:  # visibility catches up with the status a moment later
        mine = await sla("")
        return mine if opened.ticket_id in mine else None

    assert "open ticket" in await eventually(listed, what="the ticket in /sla")


async def test_resolve_through_the_modal_then_again_is_refused_with_the_reason(
    api: httpx.AsyncClient, slack: SlackStandin, standin: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)
    seen: set[str] = set()

    # Both modals open before the first resolution rewrites the message (and drops Resolve)
    clicks = await asyncio.gather(*(click(standin, where, "resolve", AGENT[0]) for _ in "12"))
    modals = [await _modal(standin, opened.ticket_id, seen) for _ in clicks]
    first = await _submit(standin, clicks, modals, 0, "restarted the payment service")
    second = await _submit(standin, clicks, modals, 1, "again")

    assert first == f"done: resolved ticket {opened.ticket_id}"
    assert second.startswith("refused: "), second
    assert "already resolved" in second or "is closed" in second, second  # reopen window: 4 s
    state = await _state(api, opened.ticket_id)
    resolved = [e for e in state.events if e.kind is EventKind.RESOLVED]
    assert [(e.actor, e.detail) for e in resolved] == [(AGENT[1], "restarted the payment service")]


async def _submit(
    standin: httpx.AsyncClient,
    clicks: Sequence[dict[str, Any]],
    modals: Sequence[dict[str, Any]],
    index: int,
    text: str,
) -> str:
    """Submit one of the modals opened by `clicks`; the answer to the click that opened it."""
    modal = modals[index]
    submitted = await standin.post(
        "/_standin/submit", json={"view_id": modal["id"], "values": {"text": {"value": text}}}
    )
    assert submitted.status_code == 200 and submitted.json()["closed"] is True, submitted.text
    response_url = json.loads(modal["private_metadata"])["response_url"]
    assert response_url in {c["response_url"] for c in clicks}
    return await _answer(standin, response_url)


async def test_escalate_through_the_modal_records_the_reason(
    api: httpx.AsyncClient, slack: SlackStandin, standin: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)
    answer = await _through_modal(
        standin, where, "escalate", opened.ticket_id, "VIP customer", set()
    )
    assert answer.startswith(f"done: escalated ticket {opened.ticket_id} to the "), answer
    state = await _state(api, opened.ticket_id)
    manual = [e for e in state.events if e.kind is EventKind.ESCALATED and e.actor == AGENT[1]]
    assert len(manual) == 1 and "VIP customer" in manual[0].detail


async def test_unknown_slack_user_changes_nothing_and_is_told_so(
    api: httpx.AsyncClient, slack: SlackStandin, standin: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    where = await ticket_message(slack, opened.ticket_id)

    clicked = await click(standin, where, "acknowledge", "U0STRANGER")
    answer = await _answer(standin, clicked["response_url"])
    resolve = await click(standin, where, "resolve", "U0STRANGER")
    refused_resolve = await _answer(standin, resolve["response_url"])

    assert "you do not work on agreement default" in answer
    assert "you do not work on agreement default" in refused_resolve
    views = (await standin.get("/_standin/views")).json()
    assert not [v for v in views if opened.ticket_id in v["private_metadata"]]  # no modal
    state = await _state(api, opened.ticket_id)
    assert state.acknowledged_by is None and state.status == "open"
    assert not [e for e in state.events if e.actor == "U0STRANGER" or "STRANGER" in e.actor]
    assert EventKind.ACKNOWLEDGED not in {e.kind for e in state.events}


async def test_a_forged_click_is_refused_before_anything_happens(
    served_api: str, api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = await _open(api, new_ticket())
    payload = (
        '{"type":"block_actions","user":{"id":"UAGE1"},"actions":[{"action_id":"acknowledge",'
        f'"value":"{opened.ticket_id}"}}]}}'
    )
    async with httpx.AsyncClient(base_url=served_api) as http:
        answer = await http.post(
            "/slack/interactions",
            data={"payload": payload},
            headers={
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=0",
            },
        )
    assert answer.status_code == 401
    assert (await _state(api, opened.ticket_id)).acknowledged_by is None
