"""Slack throttled then failing, and the mail server down, while a ticket opens and escalates:
once both are back, every notification arrives exactly once and nothing is recorded as failed.
Temporal's retry policy does the waiting (at most 30 s between attempts), not the activities."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from slaflow.tickets import EventKind, TicketView
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 8


async def _standin(slack: SlackStandin, path: str, **body: Any) -> Any:
    async with httpx.AsyncClient(base_url=slack.url) as http:
        answer = await (http.post(path, json=body) if body else http.get(path))
        answer.raise_for_status()
        return answer.json()


async def test_everything_queued_during_an_outage_is_delivered_once_after_recovery(
    api: httpx.AsyncClient,
    new_ticket: Callable[..., dict[str, Any]],
    mailbox: Mailbox,
    slack: SlackStandin,
) -> None:
    body = new_ticket()
    tid = body["ticket_id"]
    # A ticket's posts go one at a time, so its first post takes these in turn: one 429 (retried
    # after Retry-After), then two 500s (retried with Temporal's backoff: ~2 s, ~4 s).
    await _standin(slack, "/_standin/fail", method="chat.postMessage", error="ratelimited",
                   times=1, retry_after=1)  # fmt: skip
    await _standin(slack, "/_standin/fail", method="chat.postMessage", status=500,
                   error="internal_error", times=2)  # fmt: skip
    mailbox.stop()
    try:
        answer = await api.post("/tickets", json=body)
        assert answer.status_code == 201, answer.text
        await asyncio.sleep(OUTAGE_SECONDS)  # the agent's 3 s window lapses: lead paged too

        assert _mails(mailbox, tid) == []  # nothing got through while the server was down
    finally:
        mailbox.start()

    async def posts() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = await _standin(slack, "/_standin/messages")
        return [m for m in messages if _key(m).startswith(f"ticket-{tid}/")]

    async def new_ticket_page_delivered() -> bool:
        keys = {_key(m) for m in await posts()}
        email = any(f"ticket-{tid}.1.email" in m for m in _mails(mailbox, tid))
        return email and f"ticket-{tid}/1/slack/agent" in keys

    await eventually(new_ticket_page_delivered, within=60, what="the page after recovery")
    view = TicketView.model_validate((await api.get(f"/tickets/{tid}")).json())
    assert [e for e in view.events if e.kind is EventKind.NOTIFICATION_FAILED] == []
    mails = Counter(_mails(mailbox, tid))
    assert all(n == 1 for n in mails.values()), mails
    keys = Counter(_key(m) for m in await posts())
    assert all(n == 1 for n in keys.values()), keys


def _mails(mailbox: Mailbox, tid: str) -> list[str]:
    """Message-IDs of the ticket's mails (derived from each notification's idempotency key)."""
    return [m["Message-ID"] for m in mailbox.messages() if f"ticket-{tid}." in m["Message-ID"]]


def _key(message: dict[str, Any]) -> str:
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get(
        "idempotency_key", ""))  # fmt: skip
