"""Slack throttled and then failing, and the mail server down, each for a minute or more, while a
ticket opens and escalates: neither channel waits for the other, and once both are back every
notification has arrived exactly once and nothing is recorded as failed. Temporal's retry policy
does the waiting (at most 30 s between attempts), not the activities.

Timeline (seconds from the intake): the mail server is down over [0, MAIL_DOWN); Slack answers
429 with Retry-After over [0, THROTTLED) and 500 over [THROTTLED, SLACK_DOWN). The outages are
staggered so the test can see the mail arrive while Slack is still failing; then Slack's posts
arrive too. About two minutes in all.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from slaflow.tickets import EventKind, TicketView
from slaflow.tiers import Tier
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

MAIL_DOWN = float(os.environ.get("SLAFLOW_OUTAGE_SECONDS", "60"))
THROTTLED = MAIL_DOWN / 2
SLACK_DOWN = MAIL_DOWN + 30


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
    await _standin(slack, "/_standin/fail", method="*", error="ratelimited", retry_after=5,
                   for_seconds=THROTTLED)  # fmt: skip
    await _standin(slack, "/_standin/fail", method="*", status=500, error="internal_error",
                   for_seconds=SLACK_DOWN)  # fmt: skip
    started = time.monotonic()
    mailbox.stop()

    async def posts() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = await _standin(slack, "/_standin/messages")
        return [m for m in messages if _key(m).startswith(f"ticket-{tid}/")]

    try:
        answer = await api.post("/tickets", json=body)
        assert answer.status_code == 201, answer.text
        await asyncio.sleep(MAIL_DOWN - (time.monotonic() - started))
        assert _mails(mailbox, tid) == []  # nothing got through while the server was down
    finally:
        mailbox.start()

    # The ladder did not wait for the notifications: the agent's 3 s window lapsed on time.
    view = TicketView.model_validate((await api.get(f"/tickets/{tid}")).json())
    assert view.tier is Tier.TEAM_LEAD

    async def mail_delivered() -> bool:
        page = any(f"ticket-{tid}.1.email" in m for m in _mails(mailbox, tid))
        lead = any("lead" in str(m["To"]) for m in mailbox.messages() if tid in str(m["Subject"]))
        return page and lead

    await eventually(mail_delivered, within=SLACK_DOWN - MAIL_DOWN, what="mail before Slack")
    assert time.monotonic() - started < SLACK_DOWN
    assert await posts() == []  # Slack still failing: the mail did not wait for it

    async def slack_delivered() -> bool:
        keys = {_key(m) for m in await posts()}
        return f"ticket-{tid}/1/slack/agent" in keys and any(
            k.endswith("/slack/team_lead") for k in keys
        )

    await eventually(slack_delivered, within=SLACK_DOWN + 45 - (time.monotonic() - started),
                     what="Slack posts after recovery")  # fmt: skip
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
