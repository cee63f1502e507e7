"""Service-level warnings against a real SMTP server and the Slack stand-in: the message, the
shared error classification, and delivery at most once per key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db import create_tables, make_engine
from activities.notify_email import EmailActivities
from activities.notify_slack import SlackActivities
from activities.service_levels import ServiceLevelNotifyActivities
from slaflow.agreement import Contact, ServiceLevelObjective
from slaflow.service_levels import notice_key, objective_status, window_bounds
from slaflow.settings import Settings
from slaflow.tiers import Priority
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.activities.conftest import REFUSED
from workflows.service_level_calls import ServiceLevelNotice

SettingsFactory = Callable[..., Settings]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
MANAGERS = [
    Contact(name="Mia Manager", email="mia@example.com", slack_user_id="U0MIA"),
    Contact(name="Max Manager", email="max@example.com"),
]


def notice(
    threshold: str = "warning", medium: str = "email", **fields: object
) -> ServiceLevelNotice:
    objective = ServiceLevelObjective(
        priority=Priority.P1, target="first_response", percent=95, warn_when_spent=75
    )
    window = window_bounds("month", NOW)
    misses = 4 if threshold == "warning" else 6
    status = objective_status(objective, window, 100, misses, NOW)
    values: dict[str, object] = {
        "idempotency_key": notice_key(status.objective, window, threshold, medium),  # type: ignore[arg-type]
        "threshold": threshold,
        "status": status,
        "agreement_name": "Managed Workplace <SLA> & Co",
        "to": MANAGERS,
        "slack_channel": "#support-management",
        **fields,
    }
    return ServiceLevelNotice.model_validate(values)


def activities(settings: Settings, engine: Engine) -> ServiceLevelNotifyActivities:
    return ServiceLevelNotifyActivities(
        EmailActivities(settings, engine), SlackActivities(settings, engine)
    )


async def test_the_warning_mail_reads_well_and_goes_out_once(
    mailbox: Mailbox, engine: Engine, settings_for: SettingsFactory
) -> None:
    notify = activities(settings_for(smtp_port=mailbox.port), engine)
    env = ActivityEnvironment()
    first = await env.run(notify.send_service_level_email, notice())
    again = await env.run(notify.send_service_level_email, notice())
    assert not first.duplicate and again.duplicate and again.detail == first.detail

    [mail] = mailbox.messages()
    assert str(mail["Subject"]) == (
        "[slaflow] Error budget warning: P1 first responses: 95 % within target per month, "
        "November 2026 (80 % of the error budget spent)"
    )
    assert str(mail["To"]) == "mia@example.com, max@example.com"
    assert str(mail["Message-ID"]) == first.detail
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content()
    for line in (
        "Window: November 2026, 2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC",
        "Tickets measured:            100",
        "Targets missed:              4",
        "Compliance:                  96 %",
        "Misses allowed so far:       5",
        "Error budget spent:          80 % (warning at 75 %)",
        "80 % of this window's error budget is spent; the next miss exhausts it.",
        "http://slaflow.test/reports/service-levels",
    ):
        assert line in body, line
    assert "Managed Workplace &lt;SLA&gt; &amp; Co" in html.get_content()  # escaped in HTML


async def test_a_refused_recipient_is_a_permanent_failure_as_for_tickets(
    mailbox: Mailbox, engine: Engine, settings_for: SettingsFactory
) -> None:
    notify = activities(settings_for(smtp_port=mailbox.port), engine)
    nobody = [Contact(name="Nobody", email=REFUSED)]
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(notify.send_service_level_email, notice(to=nobody))
    assert caught.value.non_retryable and caught.value.type == "SmtpRecipientsRefused"


async def test_the_exhausted_post_mentions_management_and_a_retry_adopts_an_unrecorded_post(
    slack: SlackStandin, engine: Engine, tmp_path: Path, settings_for: SettingsFactory
) -> None:
    settings = settings_for(slack_base_url=slack.base_url)
    exhausted = notice("exhausted", "slack")
    # The first attempt posted, then its worker died before the receipt was written.
    forgetful = make_engine(f"sqlite:///{tmp_path / 'lost.db'}")
    create_tables(forgetful)
    posted = await ActivityEnvironment().run(
        activities(settings, forgetful).post_service_level_slack, exhausted
    )
    with slack.state.lock:
        [message] = slack.state.messages
    assert message.text.startswith(
        "Error budget exhausted: P1 first responses: 95 % within target per month, November 2026"
    )
    assert "<@U0MIA>" in message.text
    assert any("6 of 100 targets missed" in str(block) for block in message.blocks or [])

    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    adopted = await retry.run(activities(settings, engine).post_service_level_slack, exhausted)
    assert adopted.duplicate and adopted.detail == posted.detail
    again = await ActivityEnvironment().run(
        activities(settings, engine).post_service_level_slack, exhausted
    )
    assert again.duplicate  # recorded by the retry
    with slack.state.lock:
        assert len(slack.state.messages) == 1


async def test_an_unknown_channel_is_a_permanent_failure(
    slack: SlackStandin, engine: Engine, settings_for: SettingsFactory
) -> None:
    slack.state.auto_create = False
    settings = settings_for(slack_base_url=slack.base_url)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities(settings, engine).post_service_level_slack,
            notice(medium="slack", slack_channel="#nowhere"),
        )
    assert caught.value.non_retryable and "channel_not_found" in str(caught.value)
