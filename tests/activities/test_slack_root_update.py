"""update_slack_root against the Slack stand-in over real HTTP: chat.update of a root message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify_slack import SlackActivities, buttons_for, render_root, status_line
from slaflow.agreement import Contact
from slaflow.notifications import SlackNotification, SlackReceipt, SlackRootUpdate
from slaflow.settings import Settings
from slaflow.tickets import EventKind, Notice, TargetKind, TicketEvent, TicketStatus, TicketView
from slaflow.tiers import Tier
from standins.slack_api import SlackStandin

SettingsFactory = Callable[..., Settings]
LEAD = Contact(name="Lena Lead", email="lead@example.com", slack_user_id="U0LEAD")


def _acknowledged(ticket: TicketView) -> TicketView:
    at = ticket.as_of
    event = TicketEvent(at=at, kind=EventKind.ACKNOWLEDGED, actor="Lena Lead", tier=ticket.tier)
    return ticket.model_copy(
        update={
            "status": TicketStatus.ACKNOWLEDGED,
            "acknowledged_by": "Lena Lead",
            "assignee": "Lena Lead",
            "events": [event],
        }
    )


def _update(ticket: TicketView, channel: str, ts: str, key: str = "k/1") -> SlackRootUpdate:
    return SlackRootUpdate(
        idempotency_key=f"ticket-{ticket.ticket_id}/{key}/slack-root/team_lead",
        channel=channel,
        ts=ts,
        tier=Tier.TEAM_LEAD,
        ticket=ticket,
        paged=[LEAD],
        warnings_sent={TargetKind.RESOLUTION: [75]},
    )


async def _run(activities: SlackActivities, update: SlackRootUpdate) -> SlackReceipt:
    receipt: SlackReceipt = await ActivityEnvironment().run(activities.update_slack_root, update)
    return receipt


async def _root(activities: SlackActivities, ticket: TicketView, notice: Notice) -> SlackReceipt:
    request = SlackNotification(
        idempotency_key=f"ticket-{ticket.ticket_id}/1/slack/team_lead",
        channel="#team-leads",
        notice=notice,
        ticket=ticket,
    )
    receipt: SlackReceipt = await ActivityEnvironment().run(activities.post_slack, request)
    return receipt


def _buttons(blocks: list[Any]) -> list[str]:
    return [str(e["action_id"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_update_rewrites_the_root_in_place_and_a_retry_changes_nothing(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    activities = SlackActivities(settings_for(slack_base_url=slack.base_url), engine)
    root = await _root(activities, ticket, notice)
    before = slack.state.find_message(root.channel, root.ts)
    assert before is not None and "acknowledge" in _buttons(before.blocks or [])

    receipt = await _run(activities, _update(_acknowledged(ticket), root.channel, root.ts))
    again = await _run(activities, _update(_acknowledged(ticket), root.channel, root.ts))

    assert (receipt.channel, receipt.ts, receipt.duplicate) == (root.channel, root.ts, False)
    assert again.duplicate is True
    after = slack.state.find_message(root.channel, root.ts)
    assert after is not None and after.edited_ts is not None and after.edited_ts > root.ts
    assert len(slack.state.messages) == 1 and len(slack.state.edits) == 1
    assert _buttons(after.blocks or []) == ["respond", "assign", "escalate", "resolve"]
    assert "acknowledged at team lead, owner Lena Lead" in after.text
    async with httpx.AsyncClient() as http:
        page = (await http.get(f"{slack.url}/")).text
    assert "<strong>Acknowledged</strong> by Lena Lead at the team lead tier" in page
    assert "(edited)" in page
    assert 'data-action="acknowledge"' not in page


async def test_updates_of_a_deleted_message_or_someone_elses_are_not_retryable(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
) -> None:
    activities = SlackActivities(settings_for(slack_base_url=slack.base_url), engine)
    written = slack.state.say("#team-leads", "a person wrote this")
    for ts, error, key in (
        ("1700000000.000001", "message_not_found", "k/1"),
        (written.ts, "cant_update_message", "k/2"),
    ):
        with pytest.raises(ApplicationError) as caught:
            await _run(activities, _update(ticket, written.channel, ts, key))
        assert caught.value.non_retryable is True and error in caught.value.message
    kept = slack.state.find_message(written.channel, written.ts)
    assert kept is not None and kept.text == "a person wrote this"


async def test_rate_limited_update_waits_as_long_as_slack_asks(
    slack: SlackStandin,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    activities = SlackActivities(settings_for(slack_base_url=slack.base_url), engine)
    root = await _root(activities, ticket, notice)
    async with httpx.AsyncClient() as http:
        failure = {"method": "chat.update", "error": "ratelimited", "retry_after": 9}
        (await http.post(f"{slack.url}/_standin/fail", json=failure)).raise_for_status()
    with pytest.raises(ApplicationError) as caught:
        await _run(activities, _update(ticket, root.channel, root.ts))
    assert caught.value.type == "SlackRateLimited" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=9)
    assert (await _run(activities, _update(ticket, root.channel, root.ts))).duplicate is False


def test_root_shows_only_the_buttons_that_still_apply(ticket: TicketView) -> None:
    assert buttons_for(ticket) == ("acknowledge", "respond", "assign", "escalate", "resolve")
    assert buttons_for(_acknowledged(ticket)) == ("respond", "assign", "escalate", "resolve")
    top = ticket.model_copy(update={"tier": Tier.MANAGEMENT})
    assert buttons_for(top) == ("acknowledge", "respond", "assign", "resolve")
    for done in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        assert buttons_for(ticket.model_copy(update={"status": done})) == ()


def test_root_status_line_says_who_is_paged_and_where_the_ticket_is(
    ticket: TicketView, settings_for: SettingsFactory
) -> None:
    opened = _update(ticket, "C1", "1.1")
    line = status_line(opened)
    assert "*Open*, waiting for the team lead tier to acknowledge" in line
    assert "paged: <@U0LEAD>" in line and "an SLA target is breached" in line
    moved = _update(ticket.model_copy(update={"tier": Tier.SPECIALIST}), "C1", "1.1")
    assert "the ticket is now with the *specialist* tier" in status_line(moved)
    text, blocks = render_root(settings_for(), opened)
    assert text.startswith("[P1] T-1001 Checkout returns 500: open at team lead")
    clocks = next(b for b in blocks if "Resolution" in str(b))
    assert "warned at 75%" in str(clocks) and ":red_circle:" in str(clocks)
    now = datetime.now(UTC)
    closed = ticket.model_copy(update={"status": TicketStatus.CLOSED, "closed_at": now})
    assert status_line(_update(closed, "C1", "1.1")).startswith("*Closed*")


def test_an_acknowledged_root_says_the_first_response_clock_still_runs(
    ticket: TicketView,
) -> None:
    acked = _acknowledged(ticket)
    line = status_line(_update(acked, "C1", "1.1"))
    assert "tier; the first-response clock still runs: press *Responded* once replied\n" in line
    targets = [t.model_copy(update={"met_at": acked.opened_at}) for t in acked.targets]
    met = acked.model_copy(update={"targets": targets})
    line = status_line(_update(met, "C1", "1.1"))
    assert "first-response clock" not in line
