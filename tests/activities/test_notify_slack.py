"""post_slack against the Slack stand-in over real HTTP, through Temporal's ActivityEnvironment."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db import create_tables, make_engine
from activities.notify_slack import SlackActivities
from activities.tables import NotificationRow
from slaflow.notifications import SlackNotification, SlackReceipt
from slaflow.settings import Settings
from slaflow.tickets import Notice, TicketView
from standins.slack_api import SlackStandin

KEY = "ticket-T-1001/3/slack/#team-leads"
SettingsFactory = Callable[..., Settings]


def _request(
    ticket: TicketView,
    notice: Notice,
    *,
    key: str = KEY,
    channel: str = "#team-leads",
    thread_ts: str | None = None,
) -> SlackNotification:
    return SlackNotification(
        idempotency_key=key, channel=channel, thread_ts=thread_ts, notice=notice, ticket=ticket
    )


async def _post(settings: Settings, engine: Engine, request: SlackNotification) -> SlackReceipt:
    activities = SlackActivities(settings, engine)
    receipt: SlackReceipt = await ActivityEnvironment().run(activities.post_slack, request)
    return receipt


async def _messages(slack: SlackStandin) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{slack.url}/_standin/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()
    return messages


async def _fail(slack: SlackStandin, **failure: Any) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(f"{slack.url}/_standin/fail", json=failure)).raise_for_status()


async def test_post_and_thread_reply_land_in_the_standin(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    root = await _post(settings, engine, _request(ticket, notice))
    reply = await _post(
        settings,
        engine,
        _request(ticket, notice, key=KEY + "/2", channel=root.channel, thread_ts=root.ts),
    )

    assert root.duplicate is False and root.channel.startswith("C")
    assert reply.channel == root.channel and reply.ts != root.ts
    first, second = await _messages(slack)
    assert first["channel_name"] == "team-leads" and first["ts"] == root.ts
    assert first["thread_ts"] is None
    assert second["thread_ts"] == root.ts

    assert "Escalated to the team lead" in first["text"] and "<@U0LEAD>" in first["text"]
    blocks = first["blocks"]
    assert blocks[0]["type"] == "header"
    assert "P1" in blocks[0]["text"]["text"] and "Checkout returns 500" in blocks[0]["text"]["text"]
    rendered = json.dumps(blocks)
    assert "<@U0LEAD>" in rendered  # the contact without a Slack id is not mentioned
    assert "First response target breached after 15m" in rendered
    assert "Acme &lt;Widgets&gt; &amp; Co" in rendered  # mrkdwn-escaped
    assert "<!date^" in rendered and "{date_short_pretty} {time}|" in rendered
    assert "http://slaflow.test/tickets/T-1001" in rendered
    fields = next(b["fields"] for b in blocks if "fields" in b)
    assert any("*Tier*" in f["text"] and "team lead" in f["text"] for f in fields)
    (actions,) = [b for b in blocks if b["type"] == "actions"]  # the cockpit's buttons
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("acknowledge", "T-1001"),
        ("respond", "T-1001"),
        ("assign", "T-1001"),
        ("escalate", "T-1001"),
        ("resolve", "T-1001"),
    ]
    assert blocks[-1]["type"] == "context"

    with Session(engine) as session:
        row = session.get(NotificationRow, KEY)
    assert row is not None and row.receipt["ts"] == root.ts and row.channel == "slack"

    async with httpx.AsyncClient() as http:  # the dev page shows Slack tokens as people read them
        page = (await http.get(slack.url + "/")).text
    assert "#team-leads" in page and "@U0LEAD" in page and "&lt;@U0LEAD" not in page
    assert ">Take ownership</button>" in page


async def test_second_attempt_with_same_key_posts_nothing(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    first = await _post(settings, engine, _request(ticket, notice))
    again = await _post(settings, engine, _request(ticket, notice))

    assert again.duplicate is True
    assert (again.channel, again.ts) == (first.channel, first.ts)
    assert len(await _messages(slack)) == 1


async def test_rate_limit_waits_as_long_as_slack_asks(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    await _fail(slack, method="chat.postMessage", error="ratelimited", times=1, retry_after=7)
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice))

    assert caught.value.type == "SlackRateLimited"
    assert caught.value.non_retryable is False
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert (await _messages(slack)) == []
    # What Temporal's next attempt would see: the limit has passed, the post goes through once.
    assert (await _post(settings, engine, _request(ticket, notice))).duplicate is False
    assert len(await _messages(slack)) == 1


@pytest.mark.parametrize("channel", ["team-leads-typo", "D0NEVEROPENED"])  # a user id is a DM
async def test_unknown_channel_is_not_retryable(
    channel: str,
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice, channel=channel))

    assert caught.value.non_retryable is True
    assert channel in caught.value.message and "channel_not_found" in caught.value.message
    with Session(engine) as session:
        assert session.get(NotificationRow, KEY) is None


async def test_invalid_token_is_not_retryable(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url, slack_bot_token="xoxb-revoked")
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice))

    assert caught.value.non_retryable is True
    assert "invalid_auth" in caught.value.message and "#team-leads" in caught.value.message


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived", "account_inactive"])
async def test_configuration_errors_are_not_retryable(
    error: str,
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    await _fail(slack, method="chat.postMessage", error=error)
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice))
    assert caught.value.non_retryable is True and error in caught.value.message


async def test_server_error_is_retryable(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    await _fail(slack, method="chat.postMessage", status=500, times=1)
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice))

    assert caught.value.non_retryable is False
    assert caught.value.type == "SlackUnavailable"
    assert caught.value.next_retry_delay is None
    assert (await _post(settings, engine, _request(ticket, notice))).duplicate is False


async def test_unreachable_slack_is_retryable(
    engine: Engine,
    settings_for: SettingsFactory,
    closed_port: int,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(slack_base_url=f"http://127.0.0.1:{closed_port}/api/")
    with pytest.raises(ApplicationError) as caught:
        await _post(settings, engine, _request(ticket, notice))
    assert caught.value.non_retryable is False
    assert caught.value.type == "SlackUnavailable"


async def test_a_retry_finds_the_post_an_earlier_attempt_made_but_never_recorded(
    slack: SlackStandin,
    engine: Engine,
    tmp_path: Path,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    """The worker died between Slack's answer and the receipt write: the retry asks Slack
    (message metadata carries the idempotency key) and posts nothing twice."""
    settings = settings_for(slack_base_url=slack.base_url)
    forgetful = make_engine(f"sqlite:///{tmp_path / 'lost.db'}")  # the row that never got written
    create_tables(forgetful)
    root = await _post(settings, forgetful, _request(ticket, notice))
    reply_request = _request(ticket, notice, key=KEY + "/2", channel=root.channel,
                             thread_ts=root.ts)  # fmt: skip
    reply = await _post(settings, forgetful, reply_request)

    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    activities = SlackActivities(settings, engine)
    again_root = await retry.run(activities.post_slack, _request(ticket, notice))
    again_reply = await retry.run(activities.post_slack, reply_request)

    assert (again_root.ts, again_root.duplicate) == (root.ts, True)
    assert (again_reply.ts, again_reply.duplicate) == (reply.ts, True)
    assert len(await _messages(slack)) == 2
    with Session(engine) as session:  # and now it is recorded
        assert session.get(NotificationRow, KEY) is not None
    fresh = await retry.run(activities.post_slack, _request(ticket, notice, key=KEY + "/new"))
    assert fresh.duplicate is False and len(await _messages(slack)) == 3


async def test_a_retry_finds_its_post_under_pages_of_later_posts(
    slack: SlackStandin,
    engine: Engine,
    tmp_path: Path,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    """In an escalation burst hundreds of posts land in #team-leads between the lost attempt
    and its retry: the retry reads every page since the activity was first scheduled (found by
    the kill test, where one page of 100 hid the earlier post and it went out twice)."""
    settings = settings_for(slack_base_url=slack.base_url)
    forgetful = make_engine(f"sqlite:///{tmp_path / 'lost.db'}")
    create_tables(forgetful)
    first_scheduled = datetime.now(UTC)
    root = await _post(settings, forgetful, _request(ticket, notice))
    reply_request = _request(ticket, notice, key=KEY + "/2", channel=root.channel,
                             thread_ts=root.ts)  # fmt: skip
    reply = await _post(settings, forgetful, reply_request)
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=slack.base_url
    )
    for i in range(450):  # more than two pages of 200, top level and in the thread
        await client.chat_postMessage(channel=root.channel, text=f"other ticket {i}")
        await client.chat_postMessage(channel=root.channel, text=f"reply {i}", thread_ts=root.ts)

    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=3, scheduled_time=first_scheduled)
    activities = SlackActivities(settings, engine)
    again_root = await retry.run(activities.post_slack, _request(ticket, notice))
    again_reply = await retry.run(activities.post_slack, reply_request)

    assert (again_root.ts, again_root.duplicate) == (root.ts, True)
    assert (again_reply.ts, again_reply.duplicate) == (reply.ts, True)
    assert len(await _messages(slack)) == 2 + 2 * 450
