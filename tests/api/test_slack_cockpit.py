"""What a click, a modal and `/sla` turn into, with Temporal and Slack replaced by fakes.

The database is real (SQLite with the test agreement as version 1), so the clicker is looked
up in the matrix the ticket pinned, exactly as in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from activities import audit_store, people_store
from activities.notify_slack import BUTTONS, render_slack
from slaflow.notifications import SlackNotification
from slaflow.people import PersonRole
from slaflow.settings import Settings
from slaflow.tickets import (
    Acknowledge,
    Assign,
    Command,
    Escalate,
    Notice,
    NoticeKind,
    Resolve,
    TargetKind,
    TargetView,
    TicketStatus,
    TicketView,
    workflow_id_for,
)
from slaflow.tiers import Channel, Priority, Tier
from starter import slack_cockpit
from starter.slack_cockpit import ReplyTo, SlackCockpit, actor_name, is_person
from starter.tickets_service import CommandRefused, TicketList, TicketNotFound, TicketSummary
from tests.factories import make_agreement

AGENT = "agent-1 <agent1@example.com>"


def view(ticket_id: str = "T-1", **changes: Any) -> TicketView:
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "ticket_id": ticket_id,
        "workflow_id": workflow_id_for(ticket_id),
        "customer": "ACME",
        "subject": "Checkout <fails>",
        "description": "",
        "channel": Channel.PHONE,
        "requester_email": "ops@acme.example",
        "priority": Priority.P1,
        "status": TicketStatus.OPEN,
        "tier": Tier.AGENT,
        "highest_tier": Tier.AGENT,
        "assignee": None,
        "acknowledged_by": None,
        "paged": ["agent1@example.com"],
        "agreement_version": 1,
        "opened_at": now,
        "resolved_at": None,
        "closed_at": None,
        "breached": False,
        "targets": [
            TargetView(
                kind=TargetKind.FIRST_RESPONSE,
                within_seconds=600,
                calendar="24x7",
                deadline=now + timedelta(minutes=10),
                remaining_seconds=600,
                status="running",
            )
        ],
        "events": [],
        "as_of": now,
    }
    data.update(changes)
    return TicketView.model_validate(data)


class FakeSlack:
    def __init__(self, error: str | None = None) -> None:
        self.views: list[dict[str, Any]] = []
        self.error = error

    async def views_open(self, *, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError

        if self.error:
            raise SlackApiError(self.error, {"ok": False, "error": self.error})
        self.views.append({"trigger_id": trigger_id, "view": view})
        return {"ok": True}


@dataclass
class Fakes:
    tickets: dict[str, TicketView]
    refuse: str | None = None
    commands: list[tuple[str, Command]] = field(default_factory=list)
    replies: list[tuple[ReplyTo, str]] = field(default_factory=list)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    state = Fakes(tickets={"T-1": view()})

    async def get_ticket(client: Any, ticket_id: str) -> TicketView:
        if ticket_id not in state.tickets:
            raise TicketNotFound(f"ticket {ticket_id} not found")
        return state.tickets[ticket_id]

    async def run_command(client: Any, ticket_id: str, command: Command) -> TicketView:
        if state.refuse:
            raise CommandRefused(state.refuse)
        state.commands.append((ticket_id, command))
        return state.tickets[ticket_id]

    monkeypatch.setattr(slack_cockpit, "get_ticket", get_ticket)
    monkeypatch.setattr(slack_cockpit, "run_command", run_command)
    return state


@pytest.fixture
def cockpit(engine: Engine, fakes: Fakes) -> tuple[SlackCockpit, FakeSlack]:
    async def temporal() -> Any:
        return object()

    slack = FakeSlack()
    settings = Settings(_env_file=None, public_url="http://slaflow.test")
    made = SlackCockpit(settings, engine, temporal, slack=slack)  # type: ignore[arg-type]

    async def reply(to: ReplyTo, text: str) -> None:
        fakes.replies.append((to, text))

    made.reply = reply  # type: ignore[method-assign]
    return made, slack


def click(action: str, user: str = "UAGE1", ticket_id: str = "T-1") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "trigger-1",
        "response_url": "http://slack.test/response/1",
        "channel": {"id": "C1"},
        "actions": [{"action_id": action, "value": ticket_id, "type": "button"}],
    }


def texts(fakes: Fakes) -> list[str]:
    return [text for _, text in fakes.replies]


async def test_acknowledge_runs_as_the_matrix_contact(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes
) -> None:
    await cockpit[0].on_block_action(click("acknowledge"))
    assert fakes.commands == [("T-1", Acknowledge(actor=AGENT))]
    [text] = texts(fakes)
    assert text.startswith(
        "done: acknowledged ticket T-1 (the agent page). Acknowledging is not responding: "
        "the first-response clock still runs ("
    ), text
    assert text.endswith(
        " left). Record the response with Responded once you have replied to the customer."
    )
    to = fakes.replies[0][0]
    assert (to.user_id, to.response_url, to.channel_id) == (
        "UAGE1",
        "http://slack.test/response/1",
        "C1",
    )


async def test_take_ownership_assigns_the_clicker(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes
) -> None:
    await cockpit[0].on_block_action(click("assign", user="USPE2"))
    assert fakes.commands == [
        ("T-1", Assign(actor="spec-2 <spec2@example.com>", assignee="spec-2 <spec2@example.com>"))
    ]
    assert texts(fakes) == ["done: ticket T-1 is assigned to you"]


async def test_unknown_slack_user_runs_nothing(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes
) -> None:
    await cockpit[0].on_block_action(click("acknowledge", user="U0STRANGER"))
    await cockpit[0].on_block_action(click("resolve", user="U0STRANGER"))
    assert fakes.commands == [] and cockpit[1].views == []
    assert len(fakes.replies) == 2
    assert all("you do not work on agreement default" in text for text in texts(fakes))
    audit = audit_store.trail(cockpit[0].engine, "ticket", "T-1")
    assert [(a.outcome, a.credential) for a in audit] == [("refused", "slack:U0STRANGER")] * 2


async def test_the_people_directory_says_who_works_on_the_ticket(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes, engine: Engine
) -> None:
    now = datetime.now(UTC)
    people_store.add_person(engine, "Nina New", "nina@example.com", "UNINA", now)
    await cockpit[0].on_block_action(click("acknowledge", user="UNINA"))  # no role yet
    people_store.grant(engine, "nina@example.com", "default", PersonRole.AGENT)
    await cockpit[0].on_block_action(click("acknowledge", user="UNINA"))
    people_store.revoke(engine, "agent1@example.com", "default", PersonRole.AGENT)
    await cockpit[0].on_block_action(click("acknowledge", user="UAGE1"))  # revoked
    people_store.set_active(engine, "nina@example.com", False)
    await cockpit[0].on_block_action(click("acknowledge", user="UNINA"))  # deactivated
    assert "you do not work on agreement default of ticket T-1" in texts(fakes)[0]
    assert texts(fakes)[1].startswith("done: acknowledged ticket T-1")
    assert all("you do not work on agreement" in text for text in texts(fakes)[2:])
    assert fakes.commands == [("T-1", Acknowledge(actor="Nina New <nina@example.com>"))]
    audit = audit_store.trail(engine, "ticket", "T-1")
    assert [(a.outcome, a.method) for a in audit] == [
        ("refused", "slack"),
        ("accepted", "slack"),
        ("refused", "slack"),
        ("refused", "slack"),
    ]


async def test_refusal_reaches_the_clicker_with_the_tickets_reason(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes
) -> None:
    fakes.refuse = "the agent page was already acknowledged by x at 10:00"
    await cockpit[0].on_block_action(click("acknowledge"))
    assert texts(fakes) == ["refused: the agent page was already acknowledged by x at 10:00"]


@pytest.mark.parametrize(
    ("action", "model", "field_"), [("escalate", Escalate, "reason"), ("resolve", Resolve, "note")]
)
async def test_escalate_and_resolve_ask_in_a_modal_then_run_with_the_text(
    cockpit: tuple[SlackCockpit, FakeSlack],
    fakes: Fakes,
    action: str,
    model: type[Command],
    field_: str,
) -> None:
    made, slack = cockpit
    await made.on_block_action(click(action))
    assert fakes.commands == [] and fakes.replies == []
    (opened,) = slack.views
    assert opened["trigger_id"] == "trigger-1"
    modal = opened["view"]
    assert modal["type"] == "modal" and len(modal["title"]["text"]) <= 24
    assert "Checkout &lt;fails&gt;" in json.dumps(modal)
    metadata = json.loads(modal["private_metadata"])
    assert metadata == {
        "command": action,
        "ticket_id": "T-1",
        "response_url": "http://slack.test/response/1",
        "channel_id": "C1",
    }
    submitted = {
        "type": "view_submission",
        "user": {"id": "UAGE1"},
        "view": {
            **modal,
            "state": {"values": {"text": {"value": {"type": "plain_text_input", "value": "why"}}}},
        },
    }
    assert slack_cockpit.modal_errors(submitted) is None
    await made.on_view_submission(submitted)
    assert fakes.commands == [("T-1", model(actor=AGENT, **{field_: "why"}))]
    assert texts(fakes)[0].startswith(f"done: {action.rstrip('e')}ed ticket T-1")
    assert fakes.replies[0][0].response_url == "http://slack.test/response/1"


async def test_an_expired_trigger_is_reported(engine: Engine, fakes: Fakes) -> None:
    async def temporal() -> Any:
        return object()

    settings = Settings(_env_file=None)
    slack: Any = FakeSlack("expired_trigger_id")
    made = SlackCockpit(settings, engine, temporal, slack=slack)

    async def reply(to: ReplyTo, text: str) -> None:
        fakes.replies.append((to, text))

    made.reply = reply  # type: ignore[method-assign]
    await made.on_block_action(click("resolve"))
    assert texts(fakes) == ["failed: could not open the resolve form: expired_trigger_id"]


async def test_slash_with_a_ticket_id_shows_its_live_state(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes
) -> None:
    fakes.tickets["T-1"] = view(status=TicketStatus.ACKNOWLEDGED, assignee=AGENT)
    answer = await cockpit[0].slash({"text": " T-1 ", "user_id": "UAGE1"})
    assert answer["response_type"] == "ephemeral"
    text = answer["text"]
    assert "<http://slaflow.test/tickets/T-1|T-1>" in text
    owner = "Owner: agent-1 &lt;agent1@example.com&gt;"
    assert f"Status: *acknowledged* · Tier: *agent* · {owner}" in text
    assert "First response: due " in text and "left)" in text
    missing = await cockpit[0].slash({"text": "T-404", "user_id": "UAGE1"})
    assert missing["text"] == "no ticket T-404"


async def test_slash_alone_lists_the_callers_open_tickets(
    cockpit: tuple[SlackCockpit, FakeSlack], fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = {
        "T-A": view("T-A", assignee=AGENT),
        "T-B": view("T-B", status=TicketStatus.ACKNOWLEDGED, acknowledged_by="agent-1"),
        "T-C": view("T-C", assignee="lead-1 <lead1@example.com>"),
        "T-D": view("T-D", status=TicketStatus.RESOLVED, assignee=AGENT),
    }

    async def list_tickets(client: Any, filters: Any, **_: Any) -> TicketList:
        chosen = [v for v in tickets.values() if v.status == filters.status]
        summaries = [
            TicketSummary(
                ticket_id=v.ticket_id,
                workflow_id=v.workflow_id,
                customer=v.customer,
                priority=v.priority,
                tier=v.tier,
                status=v.status,
                breached=False,
                started_at=v.opened_at,
                closed_at=None,
                workflow_status="running",
                detail=v,
            )
            for v in chosen
        ]
        return TicketList(query="q", count=len(summaries), tickets=summaries)

    monkeypatch.setattr(slack_cockpit, "list_tickets", list_tickets)
    mine = (await cockpit[0].slash({"text": "", "user_id": "UAGE1"}))["text"]
    assert mine.startswith("2 open tickets of yours:")
    assert "T-A" in mine and "T-B" in mine and "T-C" not in mine and "T-D" not in mine
    nobody = (await cockpit[0].slash({"text": "", "user_id": "UMGM2"}))["text"]
    assert nobody == "no open ticket is yours (assigned to you or acknowledged by you)"
    stranger = (await cockpit[0].slash({"text": "", "user_id": "U0STRANGER"}))["text"]
    assert "not in the escalation matrix" in stranger


def test_people_are_recognised_by_name_email_or_both() -> None:
    contact = make_agreement().escalation.tiers[0].contacts[0]
    assert actor_name(contact) == AGENT
    for written in (AGENT, "agent-1", "AGENT1@example.com", "Someone <agent1@example.com>"):
        assert is_person(written, contact), written
    assert not is_person("agent-2", contact) and not is_person(None, contact)


def test_pages_of_open_tickets_carry_the_four_buttons_updates_and_finished_ones_none() -> None:
    settings = Settings(_env_file=None)

    def blocks(status: TicketStatus, kind: NoticeKind = NoticeKind.NEW_TICKET) -> list[Any]:
        notice = Notice(kind=kind, tier=Tier.AGENT, recipients=[], headline="New")
        request = SlackNotification(
            idempotency_key="k", channel="#agents", notice=notice, ticket=view(status=status)
        )
        return [b for b in render_slack(settings, request)[1] if b["type"] == "actions"]

    (actions,) = blocks(TicketStatus.OPEN)
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (action_id, "T-1") for action_id, _, _ in BUTTONS
    ]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Acknowledge",
        "Responded",
        "Take ownership",
        "Escalate",
        "Resolve",
    ]
    assert blocks(TicketStatus.ACKNOWLEDGED, NoticeKind.REMINDER)
    assert not blocks(TicketStatus.ACKNOWLEDGED, NoticeKind.UPDATE)  # "Acknowledged by ..."
    assert not blocks(TicketStatus.RESOLVED) and not blocks(TicketStatus.CLOSED)
