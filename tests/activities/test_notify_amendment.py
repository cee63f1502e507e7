"""Amendment notifications against the real SMTP mailbox and Slack stand-in: content, the
Approve / Reject buttons, idempotency (a retry sends nothing twice) and error classification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify_amendment import AmendmentNotifyActivities
from activities.notify_email import EmailActivities
from activities.notify_slack import SlackActivities
from slaflow import amendments as rules
from slaflow.amendments import AmendmentProposal
from slaflow.settings import Settings
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.activities.conftest import REFUSED, SettingsFactory
from tests.factories import agreement_doc
from workflows.amendment_calls import AmendmentNotice

SAM = {"name": "Sam", "role": "service owner", "email": "sam@example.com", "slack_user_id": "U9"}


def notice(key: str = "amendment-A-1/r1/request1/sam", **to: str) -> AmendmentNotice:
    proposal = AmendmentProposal.model_validate(
        {
            "amendment_id": "A-1",
            "proposer": "pat@example.com",
            "agreement": agreement_doc(),
            "rationale": "tighter P1",
            "signatories": [SAM],
            "deadline": datetime.now(UTC) + timedelta(days=7),
            "amends_version": 1,
        }
    )
    view = rules.view(rules.new_state(proposal, datetime.now(UTC)))
    return AmendmentNotice(
        idempotency_key=key, kind="request", to=rules.Signatory(**{**SAM, **to}), amendment=view
    )


def activities(settings: Settings, engine: Engine) -> AmendmentNotifyActivities:
    return AmendmentNotifyActivities(
        EmailActivities(settings, engine), SlackActivities(settings, engine)
    )


async def test_email_is_sent_once(
    mailbox: Mailbox, engine: Engine, settings_for: SettingsFactory
) -> None:
    acts = activities(settings_for(smtp_port=mailbox.port), engine)
    first = await ActivityEnvironment().run(acts.send_amendment_email, notice())
    again = await ActivityEnvironment().run(acts.send_amendment_email, notice())
    assert not first.duplicate and again.duplicate and again.message_id == first.message_id
    [mail] = mailbox.messages()
    assert mail["To"] == "sam@example.com" and mail["X-Slaflow-Amendment"] == "A-1"
    assert "Please review and sign amendment A-1 (revision 1)" in str(mail["Subject"])
    body = mail.get_content()
    assert "Rationale: tighter P1" in body and "Impact: not available" in body


async def test_refused_recipient_is_not_retried(
    mailbox: Mailbox, engine: Engine, settings_for: SettingsFactory
) -> None:
    acts = activities(settings_for(smtp_port=mailbox.port), engine)
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.send_amendment_email, notice(email=REFUSED))
    assert err.value.non_retryable


async def test_slack_dm_has_approve_and_reject_buttons_once(
    slack: SlackStandin, engine: Engine, settings_for: SettingsFactory
) -> None:
    acts = activities(settings_for(slack_base_url=slack.base_url), engine)
    first = await ActivityEnvironment().run(acts.post_amendment_slack, notice())
    again = await ActivityEnvironment().run(acts.post_amendment_slack, notice())
    assert again.duplicate and again.ts == first.ts
    with slack.state.lock:
        [message] = [m for m in slack.state.messages if m.channel_name == "U9"]
    assert message.channel.startswith("D") and first.channel == message.channel  # a DM
    assert message.blocks is not None
    actions = next(b for b in message.blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("amendment_approve", "A-1"),
        ("amendment_reject", "A-1"),
    ]
