"""TicketWorkflow on the time-skipping server: the ladder, commands, refusals, durability."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.agreement_store import EPOCH, add_version
from activities.facts import FactsActivities
from activities.notify_slack import render_root, status_line
from activities.tables import TicketFactRow
from activities.terms import TermsActivities
from slaflow.notifications import SlackNotification, SlackRootUpdate
from slaflow.settings import Settings
from slaflow.tickets import (
    Acknowledge,
    AddComment,
    ChangePriority,
    Escalate,
    EventKind,
    Pause,
    Reopen,
    Resolve,
    Respond,
    Resume,
    Snapshot,
    TargetKind,
    TicketExplanation,
    TicketOutcome,
    TicketStatus,
    TicketView,
    workflow_id_for,
)
from slaflow.tiers import Priority, Tier
from tests.factories import agreement_doc, make_agreement, make_ticket
from tests.workflows.notifications import RecordedNotifications
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

M = timedelta(minutes=1)


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    sent: RecordedNotifications
    engine: Engine
    started: list[WorkflowHandle] = field(default_factory=list)

    async def start(
        self, input: TicketWorkflowInput
    ) -> WorkflowHandle[TicketWorkflow, TicketOutcome]:
        handle = await self.client.start_workflow(
            TicketWorkflow.run,
            input,
            id=workflow_id_for(input.ticket.ticket_id),
            task_queue=self.task_queue,
        )
        self.started.append(handle)
        return handle

    async def open(
        self, ticket_id: str = "", priority: str = "P1"
    ) -> WorkflowHandle[TicketWorkflow, TicketOutcome]:
        ticket_id = ticket_id or f"T-{uuid.uuid4().hex[:10]}"
        handle = await self.start(TicketWorkflowInput(ticket=make_ticket(ticket_id, priority)))
        await self.update(handle, "snapshot", Snapshot())
        return handle

    async def update(self, handle: WorkflowHandle, name: str, argument: object) -> TicketView:
        return await handle.execute_update(name, argument, result_type=TicketView)

    async def state(self, handle: WorkflowHandle) -> TicketView:
        return await handle.query("state", result_type=TicketView)


HISTORIES = Path(__file__).parent.parent / "histories"
HISTORY_SET = "facts_on_change"
"""Names this code's recordings, so they sit beside (never over) histories of earlier workflow
code, which must keep replaying: "ticket-<test>-<n>.json" predate the slack-root-message-updates
patch, "ticket-root_updates-..." the pin-terms-local-activity patch, "ticket-local_pin-..."
the record-facts-on-breach-and-reopen patch. Choose a new name when a new patch changes what
the workflow records."""


async def save_histories(harness: Harness, test_name: str) -> None:
    """With SLAFLOW_RECORD_HISTORIES=1, keep each workflow's history for the replay test."""
    if not os.environ.get("SLAFLOW_RECORD_HISTORIES"):
        return
    HISTORIES.mkdir(exist_ok=True)
    name = test_name.removeprefix("test_")
    for i, handle in enumerate(harness.started):
        history = await handle.fetch_history()
        (HISTORIES / f"ticket-{HISTORY_SET}-{name}-{i}.json").write_text(history.to_json())


@pytest.fixture
async def harness(
    time_env: WorkflowEnvironment, engine: Engine, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    sent = RecordedNotifications()
    terms, facts = TermsActivities(engine), FactsActivities(engine)
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[
            terms.pin_terms,
            facts.record_ticket_facts,
            sent.send_email,
            sent.post_slack,
            sent.update_slack_root,
        ],
        activity_executor=ThreadPoolExecutor(4),
    ):
        harness = Harness(time_env, time_env.client, task_queue, sent, engine)
        yield harness
        await save_histories(harness, request.node.name)
        # Open tickets left on the shared server would hold its clock once their worker is gone.
        for handle in harness.started:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


async def test_unacknowledged_ticket_climbs_the_ladder_notifying_every_tier(
    harness: Harness,
) -> None:
    handle = await harness.open()
    await harness.env.sleep(16 * M)
    state = await harness.state(handle)
    assert state.tier is Tier.MANAGEMENT and state.highest_tier is Tier.MANAGEMENT
    assert state.targets[0].status == "breached"
    pages = [k for k in harness.sent.email_kinds() if k[0] in ("new_ticket", "escalation")]
    assert pages == [
        ("new_ticket", "agent"),
        ("escalation", "team_lead"),
        ("escalation", "specialist"),
        ("escalation", "management"),
    ]
    # every tier got its own Slack thread; earlier tiers hear of each escalation in theirs
    roots = {s.channel for s in harness.sent.slack if s.thread_ts is None}
    assert roots >= {"#agents", "#leads", "#specialists", "#management"}
    agent_thread = [s for s in harness.sent.slack if s.channel == "#agents" and s.thread_ts]
    assert [s.notice.tier for s in agent_thread if s.notice.kind.value == "escalation"] == [
        Tier.TEAM_LEAD,
        Tier.SPECIALIST,
        Tier.MANAGEMENT,
    ]
    reasons = [e.detail for e in state.events if e.kind is EventKind.ESCALATED]
    assert "agent did not acknowledge within 5m" in reasons[0]
    assert "first response target of 10m breached" in reasons[1]


async def test_acknowledge_stops_the_ladder_and_respond_resolve_stop_the_clocks(
    harness: Harness,
) -> None:
    handle = await harness.open()
    view = await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    assert view.status is TicketStatus.ACKNOWLEDGED and view.assignee == "agent1"
    await harness.update(handle, "respond", Respond(actor="agent1", note="on it"))
    await harness.env.sleep(40 * M)
    state = await harness.state(handle)
    assert state.tier is Tier.AGENT and not state.breached
    assert [e.kind for e in state.events].count(EventKind.REMINDED) == 2  # at 15m and 30m
    resolved = await harness.update(handle, "resolve", Resolve(actor="agent1"))
    assert [t.status for t in resolved.targets] == ["met", "met"]
    outcome = await handle.result()  # closes after the 1h reopen window, time skipped
    assert outcome.facts.status is TicketStatus.CLOSED and outcome.facts.escalations == 0
    with Session(harness.engine) as session:
        row = session.get(TicketFactRow, view.ticket_id)
    assert row is not None and row.status == "closed" and row.highest_tier == "agent"
    assert not row.first_response_breached and row.reopen_count == 0


async def test_refused_commands_say_why_and_change_nothing(harness: Harness) -> None:
    handle = await harness.open()
    await harness.update(handle, "resolve", Resolve(actor="a", note="done"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.update(handle, "resolve", Resolve(actor="b"))
    assert "already resolved" in str(refused.value.cause)
    for name, command in (
        ("acknowledge", Acknowledge(actor="b")),
        ("escalate", Escalate(actor="b", reason="x")),
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await harness.update(handle, name, command)
    state = await harness.state(handle)
    assert [e.actor for e in state.events if e.kind is EventKind.RESOLVED] == ["a"]
    reopened = await harness.update(
        handle, "reopen", Reopen(actor="customer", reason="still failing")
    )
    assert reopened.status is TicketStatus.OPEN


async def test_duplicate_intake_starts_nothing(harness: Harness) -> None:
    ticket_id = "T-dup-" + uuid.uuid4().hex[:6]
    await harness.open(ticket_id)
    with pytest.raises(WorkflowAlreadyStartedError):
        await harness.open(ticket_id)


async def test_priority_change_during_the_warning_window_recomputes_targets(
    harness: Harness,
) -> None:
    handle = await harness.open(
        "T-prio-" + uuid.uuid4().hex[:6], "P3"
    )  # 40m response, 240m resolution
    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    await harness.env.sleep(6 * M)
    view = await harness.update(
        handle,
        "change_priority",
        ChangePriority(actor="lead1", priority=Priority.P1, reason="outage"),
    )
    assert view.priority is Priority.P1
    assert view.targets[0].deadline == view.opened_at + 10 * M
    await harness.env.sleep(5 * M)
    state = await harness.state(handle)
    assert state.targets[0].status == "breached" and state.tier is Tier.TEAM_LEAD
    # the 50 % warning (5m) was behind the clock at the change and never sent late
    warned = [e.detail for e in state.events if e.kind is EventKind.WARNING]
    assert all("50%" not in w for w in warned)


async def test_manual_escalation_and_comments_land_in_the_history(harness: Harness) -> None:
    handle = await harness.open("T-esc-" + uuid.uuid4().hex[:6])
    await harness.update(handle, "escalate", Escalate(actor="agent2", reason="VIP"))
    view = await harness.update(handle, "comment", AddComment(actor="lead1", text="looking"))
    assert view.tier is Tier.TEAM_LEAD
    last_two = [(e.kind, e.actor) for e in view.events[-2:]]
    assert (EventKind.COMMENTED, "lead1") in last_two


async def test_a_permanent_notification_failure_is_recorded_and_the_ladder_goes_on(
    harness: Harness,
) -> None:
    harness.sent.refuse_channels.add("#leads")
    handle = await harness.open("T-fail-" + uuid.uuid4().hex[:6])
    await harness.env.sleep(6 * M)
    state = await harness.state(handle)
    failed = [e.detail for e in state.events if e.kind is EventKind.NOTIFICATION_FAILED]
    assert failed and "channel_not_found" in failed[0] and "#leads" in failed[0]
    assert state.tier is Tier.TEAM_LEAD
    assert ("escalation", "team_lead") in harness.sent.email_kinds()  # email still went out


async def test_continue_as_new_keeps_the_ticket(harness: Harness) -> None:
    ticket_id = f"T-can-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(
        TicketWorkflowInput(ticket=make_ticket(ticket_id), history_limit=60)
    )
    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    await harness.update(handle, "respond", Respond(actor="agent1"))
    await harness.env.sleep(50 * M)  # reminders every 15m grow the history past 60 events
    description = await handle.describe()
    state = await harness.client.get_workflow_handle(handle.id).query(
        "state", result_type=TicketView
    )
    assert description.run_id != handle.first_execution_run_id
    assert description.status == WorkflowExecutionStatus.RUNNING
    # the new run carries the whole ticket: history, acknowledgement, reminder rhythm
    assert state.events[0].kind is EventKind.OPENED
    assert state.acknowledged_by == "agent1" and state.tier is Tier.AGENT
    assert [e.kind for e in state.events].count(EventKind.REMINDED) == 3
    await harness.env.sleep(12 * M)  # its clock still runs: the 60m resolution target breaches
    after = await harness.client.get_workflow_handle(handle.id).query(
        "state", result_type=TicketView
    )
    assert after.targets[1].status == "breached" and after.tier is Tier.TEAM_LEAD


async def test_waiting_on_customer_holds_warnings_and_breaches_until_resumed(
    harness: Harness,
) -> None:
    handle = await harness.open()
    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    await harness.update(handle, "respond", Respond(actor="agent1"))
    await harness.env.sleep(40 * M)  # resolution: 60m, warning at 75 % = 45m
    await harness.update(handle, "pause", Pause(actor="agent1", note="need logs"))
    await harness.env.sleep(120 * M)
    waiting = await harness.state(handle)
    assert waiting.status is TicketStatus.WAITING_ON_CUSTOMER
    assert waiting.targets[1].status == "paused" and not waiting.breached
    assert EventKind.WARNING not in [e.kind for e in waiting.events]
    assert EventKind.REMINDED not in [e.kind for e in waiting.events[-3:]]
    resumed = await harness.update(handle, "resume", Resume(actor="customer"))
    deadline = resumed.targets[1].deadline
    assert deadline is not None  # 60m + 120m waited (give or take the updates' milliseconds)
    assert abs(deadline - (resumed.opened_at + 180 * M)) < timedelta(seconds=1)
    await harness.env.sleep(10 * M)
    state = await harness.state(handle)
    assert [e.kind for e in state.events].count(EventKind.WARNING) == 1 and not state.breached


async def test_business_hours_ticket_pins_its_calendar_and_explains_its_deadline(
    harness: Harness,
) -> None:
    doc = agreement_doc(
        calendars={
            "office": {
                "time_zone": "Europe/Berlin",
                "weekly_hours": {"monday": ["09:00-17:00"], "friday": ["09:00-17:00"]},
            }
        }
    )
    doc["objectives"]["P3"]["calendar"] = "office"
    add_version(harness.engine, make_agreement(**doc), effective_from=EPOCH, source="test")
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    ticket = make_ticket(f"T-bh-{uuid.uuid4().hex[:6]}", "P3", opened_at=friday)
    handle = await harness.start(TicketWorkflowInput(ticket=ticket))
    view = await harness.update(handle, "snapshot", Snapshot())
    assert view.agreement_version == 2
    # 40m of office time: 16:00-16:40 on Friday... (opened earlier than the test server's
    # clock, so the breach is history by now; the deadline is still Friday 16:40 Berlin)
    assert view.targets[0].deadline == datetime(2026, 3, 6, 15, 40, tzinfo=UTC)
    # 240m: Fri 16-17 (1h) + Mon 9-12 (3h) -> Monday 12:00 Berlin
    assert view.targets[1].deadline == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    explained = await handle.query("explain", result_type=TicketExplanation)
    assert explained.targets[1].calendar == "office"
    assert "2026-03-09T12:00:00+01:00" in explained.targets[1].summary


# ----- the root Slack messages, updated in place -------------------------------------------------


async def _root_updates(
    harness: Harness, count: int, within: float = 10.0
) -> list[SlackRootUpdate]:
    """The first `count` root-message updates, once they have been made (activities run a
    moment after the update that caused them returns)."""
    deadline = asyncio.get_running_loop().time() + within
    while len(harness.sent.root_updates) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{len(harness.sent.root_updates)} root updates, wanted {count}: "
                f"{[(u.tier, u.ticket.status) for u in harness.sent.root_updates]}"
            )
        await asyncio.sleep(0.05)
    return harness.sent.root_updates[:count]


def _buttons(update: SlackRootUpdate) -> list[str]:
    _, blocks = render_root(Settings(_env_file=None), update)
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_state_changes_rewrite_every_root_message_of_the_ticket(harness: Harness) -> None:
    handle = await harness.open()
    agent_root = await _root_slack_post(harness, "#agents")
    await asyncio.sleep(0.3)
    assert harness.sent.root_updates == []  # the root was posted as the ticket stands

    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    [acked] = await _root_updates(harness, 1)
    assert (acked.channel, acked.ts, acked.tier) == (agent_root.channel, "1.000100", Tier.AGENT)
    assert acked.ticket.status is TicketStatus.ACKNOWLEDGED
    assert acked.ticket.acknowledged_by == "agent1"
    assert _buttons(acked) == ["respond", "assign", "escalate", "resolve"]  # no Acknowledge
    assert "*Acknowledged* by agent1" in status_line(acked)

    await harness.update(handle, "escalate", Escalate(actor="agent1", reason="needs a lead"))
    escalated = (await _root_updates(harness, 2))[1]
    lead_root = await _root_slack_post(harness, "#leads")
    assert escalated.tier is Tier.AGENT and escalated.ticket.tier is Tier.TEAM_LEAD
    assert escalated.ticket.status is TicketStatus.OPEN  # the lead must acknowledge again
    assert _buttons(escalated) == ["acknowledge", "respond", "assign", "escalate", "resolve"]
    assert "now with the *team lead* tier" in status_line(escalated)
    assert lead_root.ticket.tier is Tier.TEAM_LEAD  # the new tier's root showed it at once

    await harness.update(handle, "resolve", Resolve(actor="lead1", note="fixed"))
    resolved = (await _root_updates(harness, 4))[2:]
    assert {u.tier for u in resolved} == {Tier.AGENT, Tier.TEAM_LEAD}
    lead_ts = next(  # the recorder answers each post with its position as ts
        f"{i + 1}.000100"
        for i, s in enumerate(harness.sent.slack)
        if s.channel == "#leads" and not s.thread_ts
    )
    assert {(u.channel, u.ts) for u in resolved} == {("#agents", "1.000100"), ("#leads", lead_ts)}
    for update in resolved:
        assert update.ticket.status is TicketStatus.RESOLVED and _buttons(update) == []
        assert "*Resolved* by lead1" in status_line(update)

    await handle.result()  # the reopen window ends: closed
    closed = (await _root_updates(harness, 6))[4:]
    assert {u.ticket.status for u in closed} == {TicketStatus.CLOSED}
    assert all(_buttons(u) == [] for u in closed)
    keys = [u.idempotency_key for u in harness.sent.root_updates]
    assert len(set(keys)) == len(keys)


async def test_a_warning_rewrites_the_clocks_of_the_root(harness: Harness) -> None:
    handle = await harness.open()
    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    await _root_updates(harness, 1)
    await harness.env.sleep(6 * M)  # the agent's 50 % first-response warning fires at 5m
    warned = next(
        u for u in await _root_updates(harness, 2) if u.warnings_sent.get(TargetKind.FIRST_RESPONSE)
    )
    assert warned.tier is Tier.AGENT and warned.warnings_sent[TargetKind.FIRST_RESPONSE] == [50]
    _, blocks = render_root(Settings(_env_file=None), warned)
    clocks = next(b["text"]["text"] for b in blocks if "First response" in str(b))
    assert ":warning:" in clocks and "warned at 50%" in clocks
    assert (await harness.state(handle)).status is TicketStatus.ACKNOWLEDGED


async def test_a_root_slack_refuses_to_update_is_recorded_once_and_left_alone(
    harness: Harness,
) -> None:
    harness.sent.gone_roots.add("#agents")
    handle = await harness.open()
    await _root_slack_post(harness, "#agents")
    await harness.update(handle, "acknowledge", Acknowledge(actor="agent1"))
    await harness.update(handle, "respond", Respond(actor="agent1"))
    await harness.update(handle, "resolve", Resolve(actor="agent1"))
    await asyncio.sleep(0.5)
    state = await harness.state(handle)
    failed = [e for e in state.events if e.kind is EventKind.NOTIFICATION_FAILED]
    assert len(failed) == 1, failed
    assert "root message" in failed[0].detail and "message_not_found" in failed[0].detail
    assert failed[0].tier is Tier.AGENT and state.status is TicketStatus.RESOLVED


async def _root_slack_post(harness: Harness, channel: str) -> SlackNotification:
    async def probe() -> SlackNotification | None:
        return next(
            (s for s in harness.sent.slack if s.channel == channel and s.thread_ts is None), None
        )

    deadline = asyncio.get_running_loop().time() + 10
    while (found := await probe()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no root post in {channel}")
        await asyncio.sleep(0.05)
    return found
