"""An amendment request's Approve / Reject buttons, with Temporal and Slack replaced by fakes.

The fake amendment "workflow" applies the real rules (`slaflow.amendments.refusal` and
`apply`, what the workflow's update validators and handlers run), so strangers, second
decisions and closed amendments are refused with the reasons the workflow gives.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from activities import audit_store, people_store
from activities.db import create_tables
from activities.notify_amendment import APPROVE_ACTION, REJECT_ACTION
from slaflow import amendments
from slaflow.amendments import (
    AmendmentCommand,
    AmendmentProposal,
    AmendmentState,
    AmendmentStatus,
    AmendmentView,
    Approve,
    Reject,
)
from slaflow.people import PersonRole
from slaflow.settings import Settings
from standins.slack_api import interaction_body, sign_request
from starter import slack_cockpit
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from starter.slack_cockpit import ReplyTo, SlackCockpit, modal_errors
from starter.tickets_service import CommandRefused, TicketNotFound
from tests.api.test_slack_cockpit import FakeSlack
from tests.factories import agreement_doc

CORA, SAM = ("UCORA", "cora@customer.example"), ("USAM", "sam@example.com")
PROPOSER = "pat@example.com"
RESPONSE_URL = "http://slack.test/response/1"


def proposal(amendment_id: str = "A-1") -> AmendmentProposal:
    return AmendmentProposal.model_validate(
        {
            "amendment_id": amendment_id,
            "proposer": PROPOSER,
            "agreement": agreement_doc(),
            "rationale": "P1 first response <20m>",
            "signatories": [
                {"name": "Cora", "role": "customer", "email": CORA[1], "slack_user_id": CORA[0]},
                {"name": "Sam", "role": "owner", "email": SAM[1], "slack_user_id": SAM[0]},
                {"name": "Eddie", "role": "legal", "email": "eddie@example.com"},
            ],
            "deadline": datetime.now(UTC) + timedelta(days=7),
            "amends_version": 1,
        }
    )


@dataclass
class Fakes:
    """The amendment workflows, and what the clicker was told."""

    states: dict[str, AmendmentState]
    decided: list[tuple[str, AmendmentCommand]] = field(default_factory=list)
    replies: list[tuple[ReplyTo, str]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [text for _, text in self.replies]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    state = Fakes(states={"A-1": amendments.new_state(proposal(), datetime.now(UTC))})

    async def get_amendment(client: Any, amendment_id: str) -> AmendmentView:
        if amendment_id not in state.states:
            raise TicketNotFound(f"amendment {amendment_id} not found")
        return amendments.view(state.states[amendment_id])

    async def decide(
        client: Any, amendment_id: str, command: AmendmentCommand, **_: Any
    ) -> AmendmentView:
        if amendment_id not in state.states:
            raise TicketNotFound(f"amendment {amendment_id} not found")
        current = state.states[amendment_id]
        reason = amendments.refusal(current, command)  # the update's validator
        if reason:
            raise CommandRefused(reason)
        amendments.apply(current, command, datetime.now(UTC))
        state.decided.append((amendment_id, command))
        return amendments.view(current)

    monkeypatch.setattr(slack_cockpit, "get_amendment", get_amendment)
    monkeypatch.setattr(slack_cockpit, "decide_amendment", decide)
    return state


def _cockpit(engine: Engine, fakes: Fakes, slack: FakeSlack) -> SlackCockpit:
    async def temporal() -> Any:
        return object()

    made = SlackCockpit(Settings(_env_file=None), engine, temporal, slack=slack)  # type: ignore[arg-type]

    async def reply(to: ReplyTo, text: str) -> None:
        fakes.replies.append((to, text))

    made.reply = reply  # type: ignore[method-assign]
    return made


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack()


def sign_up(engine: Engine) -> None:
    """Cora and Sam are people of the directory who sign `default` (Slack ids theirs);
    Eddie signs too but has no Slack."""
    now = datetime.now(UTC)
    for (slack_id, email), role in (
        (CORA, PersonRole.CUSTOMER_SIGNATORY),
        (SAM, PersonRole.PROVIDER_SIGNATORY),
        ((None, "eddie@example.com"), PersonRole.PROVIDER_SIGNATORY),
    ):
        people_store.add_person(engine, email.split("@")[0].title(), email, slack_id, now)
        people_store.grant(engine, email, "default", role)


@pytest.fixture
def cockpit(engine: Engine, fakes: Fakes, slack: FakeSlack) -> SlackCockpit:
    sign_up(engine)
    return _cockpit(engine, fakes, slack)


def click(action: str, user: str, amendment_id: str = "A-1") -> dict[str, Any]:
    """A click on a DM's button, shaped as Slack sends it (the DM channel is a D... id)."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "trigger-1",
        "response_url": RESPONSE_URL,
        "channel": {"id": "D1"},
        "actions": [{"action_id": action, "value": amendment_id, "type": "button"}],
    }


def submitted(modal: dict[str, Any], user: str, text: str | None) -> dict[str, Any]:
    value = {"type": "plain_text_input", "value": text}
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {**modal, "state": {"values": {"text": {"value": value}}}},
    }


async def test_approve_runs_as_the_clickers_slack_id_and_says_done(
    cockpit: SlackCockpit, fakes: Fakes
) -> None:
    await cockpit.on_block_action(click(APPROVE_ACTION, SAM[0]))
    assert fakes.decided == [("A-1", Approve(by=SAM[1], method="slack"))]
    assert fakes.texts() == ["done: approved amendment A-1"]
    to = fakes.replies[0][0]
    assert (to.user_id, to.response_url, to.channel_id) == (SAM[0], RESPONSE_URL, "D1")
    (sam,) = [d for d in fakes.states["A-1"].decisions if d.signatory.email == SAM[1]]
    assert sam.decision == "approved"
    assert fakes.states["A-1"].events[-1].actor == SAM[1]  # recorded as the signatory


async def test_a_stranger_and_a_second_decision_are_refused_with_the_workflows_reason(
    cockpit: SlackCockpit, fakes: Fakes, engine: Engine
) -> None:
    await cockpit.on_block_action(click(APPROVE_ACTION, "U0STRANGER"))
    await cockpit.on_block_action(click(APPROVE_ACTION, "UAGE1"))  # a person, not a signatory
    await cockpit.on_block_action(click(APPROVE_ACTION, CORA[0]))
    await cockpit.on_block_action(click(APPROVE_ACTION, CORA[0]))
    assert fakes.texts() == [
        "refused: your Slack user is no active person of slaflow's people directory; "
        "nothing was done",
        "refused: agent1@example.com is not a signatory of amendment A-1",
        "done: approved amendment A-1",
        "refused: cora@customer.example already decided on revision 1 of amendment A-1 (approved)",
    ]
    audit = audit_store.trail(engine, "amendment", "A-1")
    assert [(a.outcome, a.credential) for a in audit] == [
        ("refused", "slack:U0STRANGER"),
        ("refused", "slack:UAGE1"),
        ("accepted", "slack:UCORA"),
        ("refused", "slack:UCORA"),
    ]
    assert fakes.decided == [("A-1", Approve(by=CORA[1], method="slack"))]


async def test_the_last_approval_says_it_is_signed(cockpit: SlackCockpit, fakes: Fakes) -> None:
    # Eddie (no Slack id) signs by email, the others by button; the last click completes it
    amendments.apply(fakes.states["A-1"], Approve(by="eddie@example.com"), datetime.now(UTC))
    await cockpit.on_block_action(click(APPROVE_ACTION, CORA[0]))
    await cockpit.on_block_action(click(APPROVE_ACTION, SAM[0]))
    assert fakes.texts() == [
        "done: approved amendment A-1",
        "done: approved amendment A-1; every signatory has approved, so it is signed",
    ]
    assert fakes.states["A-1"].status is AmendmentStatus.SIGNED


async def test_reject_asks_for_the_comment_in_a_modal_then_rejects_with_it(
    cockpit: SlackCockpit, fakes: Fakes, slack: FakeSlack
) -> None:
    await cockpit.on_block_action(click(REJECT_ACTION, SAM[0]))
    assert fakes.decided == [] and fakes.replies == []
    (opened,) = slack.views
    assert opened["trigger_id"] == "trigger-1"
    modal = opened["view"]
    assert modal["type"] == "modal" and modal["callback_id"] == "slaflow_command"
    assert len(modal["title"]["text"]) <= 24 and modal["submit"]["text"] == "Reject"
    assert "P1 first response &lt;20m&gt;" in json.dumps(modal)  # escaped for mrkdwn
    assert json.loads(modal["private_metadata"]) == {
        "command": REJECT_ACTION,
        "amendment_id": "A-1",
        "response_url": RESPONSE_URL,
        "channel_id": "D1",
    }
    empty = submitted(modal, SAM[0], None)
    assert modal_errors(empty) == {"text": "please write something"}

    done = submitted(modal, SAM[0], " too slow ")
    assert modal_errors(done) is None
    await cockpit.on_view_submission(done)
    assert fakes.decided == [("A-1", Reject(by=SAM[1], comment="too slow", method="slack"))]
    assert fakes.texts() == ["done: rejected amendment A-1"]
    assert fakes.replies[0][0].response_url == RESPONSE_URL
    state = fakes.states["A-1"]
    assert state.status is AmendmentStatus.REJECTED and "too slow" in state.closed_reason

    await cockpit.on_block_action(click(APPROVE_ACTION, CORA[0]))
    assert fakes.texts()[-1].startswith("refused: amendment A-1 is closed (rejected: ")


async def test_reject_refused_by_the_rule_opens_no_modal(
    cockpit: SlackCockpit, fakes: Fakes, slack: FakeSlack
) -> None:
    await cockpit.on_block_action(click(REJECT_ACTION, "U0STRANGER"))
    await cockpit.on_block_action(click(APPROVE_ACTION, CORA[0]))
    await cockpit.on_block_action(click(REJECT_ACTION, CORA[0]))
    fakes.states["A-2"] = amendments.new_state(proposal("A-2"), datetime.now(UTC))
    amendments.apply(
        fakes.states["A-2"], amendments.Withdraw(by=PROPOSER, reason="moot"), datetime.now(UTC)
    )
    await cockpit.on_block_action(click(REJECT_ACTION, SAM[0], "A-2"))
    assert slack.views == []
    assert fakes.texts() == [
        "refused: your Slack user is no active person of slaflow's people directory; "
        "nothing was done",
        "done: approved amendment A-1",
        "refused: cora@customer.example already decided on revision 1 of amendment A-1 (approved)",
        "refused: amendment A-2 is closed (withdrawn: moot); reject refused",
    ]
    assert fakes.decided == [("A-1", Approve(by=CORA[1], method="slack"))]


async def test_a_modal_submitted_after_someone_else_closed_it_is_refused(
    cockpit: SlackCockpit, fakes: Fakes, slack: FakeSlack
) -> None:
    await cockpit.on_block_action(click(REJECT_ACTION, SAM[0]))
    await cockpit.on_block_action(click(REJECT_ACTION, CORA[0]))
    sams, coras = (view["view"] for view in slack.views)
    await cockpit.on_view_submission(submitted(coras, CORA[0], "no"))
    await cockpit.on_view_submission(submitted(sams, SAM[0], "no either"))
    assert fakes.texts()[0] == "done: rejected amendment A-1"
    assert fakes.texts()[1].startswith("refused: amendment A-1 is closed (rejected: ")
    assert fakes.decided == [("A-1", Reject(by=CORA[1], comment="no", method="slack"))]


async def test_unknown_or_malformed_amendments_and_nameless_clicks_fail_politely(
    cockpit: SlackCockpit, fakes: Fakes, slack: FakeSlack
) -> None:
    await cockpit.on_block_action(click(APPROVE_ACTION, SAM[0], "A-404"))
    await cockpit.on_block_action(click(REJECT_ACTION, SAM[0], "A-404"))
    await cockpit.on_block_action(click(APPROVE_ACTION, SAM[0], "no such id!"))
    await cockpit.on_block_action(click(APPROVE_ACTION, ""))
    assert fakes.texts() == [
        "failed: amendment A-404 not found",
        "failed: amendment A-404 not found",
        "failed: 'no such id!' is not an amendment id",
        "failed: the click names no Slack user; nothing was done",
    ]
    assert fakes.decided == [] and slack.views == []


async def test_an_expired_trigger_is_reported(engine: Engine, fakes: Fakes) -> None:
    sign_up(engine)
    made = _cockpit(engine, fakes, FakeSlack("expired_trigger_id"))
    await made.on_block_action(click(REJECT_ACTION, SAM[0]))
    assert fakes.texts() == ["failed: could not open the reject form: expired_trigger_id"]


def test_a_reject_modal_without_an_amendment_is_not_one_slaflow_knows() -> None:
    metadata = {"command": REJECT_ACTION, "ticket_id": "T-1"}  # forged or garbled
    payload = {
        "type": "view_submission",
        "view": {
            "private_metadata": json.dumps(metadata),
            "state": {"values": {"text": {"value": {"value": "why"}}}},
        },
    }
    assert modal_errors(payload) == {
        "text": "this form is not one slaflow knows; close it and click again"
    }


# ----- through the route: signed, taken at once, carried out afterwards ------------------------

SECRET = "amendment-buttons-signing-secret"


class NoTemporal(TemporalGateway):
    async def client(self) -> Any:
        return object()  # the fakes never use it


@dataclass
class Api:
    http: httpx.AsyncClient
    fakes: Fakes


@pytest.fixture
async def api(tmp_path: Path, fakes: Fakes) -> AsyncIterator[Api]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        temporal_address="127.0.0.1:1",
        slack_signing_secret=SecretStr(SECRET),
    )
    app = create_app(settings)
    state = app_state(app)
    create_tables(state.engine)  # what the lifespan does first; the replay guard's table
    sign_up(state.engine)
    state.temporal = NoTemporal(state.settings)

    async def reply(to: ReplyTo, text: str) -> None:
        fakes.replies.append((to, text))

    state.slack.reply = reply  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        yield Api(http, fakes)


async def test_a_signed_approve_click_through_the_route_decides_once(api: Api) -> None:
    body = interaction_body(click(APPROVE_ACTION, SAM[0]))
    headers = sign_request(SECRET, body)
    taken = await api.http.post("/slack/interactions", content=body, headers=headers)
    assert taken.status_code == 200 and taken.content == b""
    replayed = await api.http.post("/slack/interactions", content=body, headers=headers)
    assert replayed.status_code == 401
    forged = await api.http.post(
        "/slack/interactions",
        content=body,
        headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=0"},
    )
    assert forged.status_code == 401
    assert api.fakes.decided == [("A-1", Approve(by=SAM[1], method="slack"))]
    assert api.fakes.texts() == ["done: approved amendment A-1"]


async def test_an_empty_reject_comment_keeps_the_modal_open(api: Api) -> None:
    metadata = {"command": REJECT_ACTION, "amendment_id": "A-1", "response_url": RESPONSE_URL}
    modal = {"callback_id": "slaflow_command", "private_metadata": json.dumps(metadata)}
    body = interaction_body(submitted(modal, SAM[0], None))
    answer = await api.http.post(
        "/slack/interactions", content=body, headers=sign_request(SECRET, body)
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"text": "please write something"},
    }
    assert api.fakes.decided == []
