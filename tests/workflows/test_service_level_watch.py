"""ServiceLevelWatchWorkflow on the time-skipping server, with the real activities: the status
from a seeded database, warnings through a real SMTP server and the Slack stand-in, and the
notification store keeping each warning to once per objective, window and threshold.

The time-skipping server has no visibility, so open breached tickets come from a stand-in of
`VisibilityBreaches` that the test fills (the real one runs in tests/integration).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, Table, insert
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.agreement_store import EPOCH, add_version
from activities.notify_email import EmailActivities
from activities.notify_slack import SlackActivities
from activities.service_level_tables import closed_windows
from activities.service_levels import ServiceLevelActivities, ServiceLevelNotifyActivities
from activities.tables import TicketFactRow
from slaflow.service_levels import MeasuredTicket, previous_window, window_bounds
from slaflow.settings import Settings
from slaflow.tiers import Priority
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.factories import make_agreement
from workflows.service_level_calls import ServiceLevelNotice, WatchInput, WatchResult
from workflows.service_level_watch import ServiceLevelWatchWorkflow

BOT_TOKEN = "xoxb-service-levels"
HISTORIES = Path(__file__).parent.parent / "histories"
MANAGEMENT = {"mgmt1@example.com", "mgmt2@example.com"}  # tests.factories' management tier


@dataclass
class LiveBreaches:
    """What visibility would answer: open tickets that breached, on the task queue asked."""

    tickets: list[MeasuredTicket] = field(default_factory=list)
    asked: list[tuple[str, datetime]] = field(default_factory=list)

    async def __call__(self, task_queue: str, since: datetime) -> list[MeasuredTicket]:
        self.asked.append((task_queue, since))
        return list(self.tickets)


@dataclass
class Watch:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    live: LiveBreaches
    mailbox: Mailbox
    slack: SlackStandin
    notices: ServiceLevelNotifyActivities
    started: list[WorkflowHandle] = field(default_factory=list)

    async def run(self) -> WatchResult:
        """One run, as the schedule starts it. Real time: nothing here waits on a timer, and
        the test server would otherwise skip years ahead while a result is awaited."""
        with self.env.auto_time_skipping_disabled():
            handle = await self.client.start_workflow(
                ServiceLevelWatchWorkflow.run,
                WatchInput(task_queue=self.task_queue),
                id=f"service-levels-{uuid.uuid4().hex[:8]}",
                task_queue=self.task_queue,
            )
            self.started.append(handle)
            return await handle.result()

    def management_posts(self) -> list[str]:
        with self.slack.state.lock:
            return [
                m.text
                for m in self.slack.state.messages
                if m.channel_name.lstrip("#") == "management"
            ]


def seed_month(engine: Engine, now: datetime, tickets: int, breached: int) -> datetime:
    """`tickets` resolved P1 tickets opened this month before `now`, the first `breached` of
    them late on their first response; returns the window's start."""
    window = window_bounds("month", now)
    span = now - window.start
    rows = []
    for i in range(tickets):
        opened = window.start + span * (i + 1) / (tickets + 2)
        rows.append(
            {
                "ticket_id": f"SL-{i}",
                "customer": "ACME",
                "priority": "P1",
                "channel": "phone",
                "agreement_version": 2,
                "opened_at": opened,
                "first_response_at": opened + timedelta(minutes=5 if i >= breached else 30),
                "resolved_at": opened + timedelta(minutes=50),
                "closed_at": opened + timedelta(hours=2),
                "first_response_target_seconds": 600,
                "resolution_target_seconds": 3600,
                "first_response_breached": i < breached,
                "resolution_breached": False,
                "highest_tier": "agent",
                "escalations": 0,
                "reopen_count": 0,
                "status": "closed",
                "updated_at": opened + timedelta(hours=2),
            }
        )
    # Only the columns the watch reads (and those every row needs); the reports' own columns
    # keep their defaults.
    table: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    return window.start


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with Mailbox(tmp_path / "mail", port=0) as box:
        yield box


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin("secret", BOT_TOKEN, port=0) as standin:
        yield standin


@pytest.fixture
async def watch(
    time_env: WorkflowEnvironment,
    engine: Engine,
    mailbox: Mailbox,
    slack: SlackStandin,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Watch]:
    # Version 2 adds the objective: 95 % of P1 first responses per month, warn at half the budget.
    # A P2 objective with no tickets stays quiet.
    agreement = make_agreement(
        service_levels=[
            {"priority": "P1", "target": "first_response", "percent": 95, "warn_when_spent": 50},
            {"priority": "P2", "target": "resolution", "percent": 90, "window": "week"},
        ]
    )
    add_version(engine, agreement, effective_from=EPOCH, source="test")
    settings = Settings(
        _env_file=None,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        mail_from="slaflow <alerts@slaflow.test>",
        slack_base_url=slack.base_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        public_url="http://slaflow.test",
    )
    live = LiveBreaches()
    statuses = ServiceLevelActivities(engine, live)
    notices = ServiceLevelNotifyActivities(
        EmailActivities(settings, engine), SlackActivities(settings, engine)
    )
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ServiceLevelWatchWorkflow],
        activities=[
            statuses.service_level_statuses,
            statuses.record_service_level_closing,
            notices.send_service_level_email,
            notices.post_service_level_slack,
        ],
        activity_executor=ThreadPoolExecutor(4),
    ):
        harness = Watch(time_env, time_env.client, task_queue, live, mailbox, slack, notices)
        yield harness
        if os.environ.get("SLAFLOW_RECORD_HISTORIES"):
            name = request.node.name.removeprefix("test_")
            for i, handle in enumerate(harness.started):
                history = await handle.fetch_history()
                (HISTORIES / f"service-levels-{name}-{i}.json").write_text(history.to_json())


async def test_a_month_of_breached_p1_first_responses_warns_management_once_then_on_exhaustion(
    watch: Watch, engine: Engine
) -> None:
    now = datetime.now(UTC)
    # 40 P1 tickets, 1 first response late: 5 % of 40 = 2 misses allowed, 1 spent = 50 % -> warn
    start = seed_month(engine, now, tickets=40, breached=1)

    first = await watch.run()
    p1 = first.statuses[0]
    assert (p1.objective, p1.measured, p1.misses, p1.allowed_misses) == (
        "P1-first_response-month",
        40,
        1,
        2,
    )
    assert (p1.spent_percent, p1.state, p1.window.start) == (50, "warning", start)
    assert first.statuses[1].state == "ok" and first.statuses[1].measured == 0
    assert watch.live.asked[0][0] == watch.task_queue
    assert sorted(r.medium for r in first.sent) == ["email", "slack"] and not first.failed
    assert not any(r.duplicate for r in first.sent)

    mails = watch.mailbox.messages()
    assert len(mails) == 1
    assert {a.strip() for a in str(mails[0]["To"]).split(",")} == MANAGEMENT
    assert "Error budget warning: P1 first responses: 95 % within target per month" in str(
        mails[0]["Subject"]
    )
    body = mails[0].get_body(("plain",))
    assert body is not None and "Targets missed:" in body.get_content()
    posts = watch.management_posts()
    assert len(posts) == 1 and "Error budget warning" in posts[0]
    assert "<@UMGM1>" in posts[0] and "<@UMGM2>" in posts[0]  # management is mentioned

    # The next scheduled run in the same window: the same state, nothing new goes out.
    second = await watch.run()
    assert second.statuses[0].notified == ["warning"] and second.statuses[0].state == "warning"
    assert second.sent == [] and len(watch.mailbox.messages()) == 1
    assert len(watch.management_posts()) == 1

    # Two open P1 tickets breach their first response: 3 of 42 missed, 2.1 allowed -> exhausted.
    opened = now - (now - start) / 3
    watch.live.tickets = [
        MeasuredTicket(
            ticket_id=f"OPEN-{i}",
            priority=Priority.P1,
            opened_at=opened,
            first_response_missed=True,
            resolution_missed=None,
        )
        for i in range(2)
    ]
    third = await watch.run()
    p1 = third.statuses[0]
    assert (p1.measured, p1.misses, p1.allowed_misses, p1.state) == (42, 3, 2.1, "exhausted")
    assert sorted(r.medium for r in third.sent) == ["email", "slack"]
    assert all(r.idempotency_key.split("/")[3] == "exhausted" for r in third.sent)
    mails = watch.mailbox.messages()
    assert len(mails) == 2 and "Error budget exhausted" in str(mails[1]["Subject"])
    posts = watch.management_posts()
    assert len(posts) == 2 and "Error budget exhausted" in posts[1]

    # And once more: both thresholds are behind us for this window.
    fourth = await watch.run()
    assert fourth.statuses[0].notified == ["exhausted", "warning"] and fourth.sent == []
    assert len(watch.mailbox.messages()) == 2 and len(watch.management_posts()) == 2


async def test_a_retried_delivery_sends_nothing_twice(watch: Watch, engine: Engine) -> None:
    now = datetime.now(UTC)
    seed_month(engine, now, tickets=40, breached=1)
    result = await watch.run()
    email = next(r for r in result.sent if r.medium == "email")
    slack = next(r for r in result.sent if r.medium == "slack")
    report_status = result.statuses[0]
    management = make_agreement().escalation.tiers[-1]
    env = ActivityEnvironment()
    for key, call in (
        (email.idempotency_key, watch.notices.send_service_level_email),
        (slack.idempotency_key, watch.notices.post_service_level_slack),
    ):
        notice = ServiceLevelNotice(
            idempotency_key=key,
            threshold="warning",
            status=report_status,
            agreement_name="Test agreement",
            to=management.contacts,
            slack_channel=management.slack_channel,
        )
        receipt = await env.run(call, notice)
        assert receipt.duplicate and receipt.idempotency_key == key
    assert len(watch.mailbox.messages()) == 1 and len(watch.management_posts()) == 1


async def test_a_month_that_ended_below_its_objective_is_kept_and_told_once(
    watch: Watch, engine: Engine
) -> None:
    now = datetime.now(UTC)
    last = previous_window("month", now)
    # last month: 10 P1 tickets, 2 first responses late; 95 % allows 0.5 misses -> missed
    seed_month(engine, last.end - timedelta(hours=1), tickets=10, breached=2)
    first = await watch.run()
    p1 = next(s for s in first.closing if s.objective == "P1-first_response-month")
    assert (p1.final, p1.met, p1.measured, p1.misses, p1.window.start) == (
        True,
        False,
        10,
        2,
        last.start,
    )
    assert first.statuses[0].measured == 0  # this month has nothing yet
    missed = [r for r in first.sent if r.idempotency_key.split("/")[3] == "missed"]
    assert sorted(r.medium for r in missed) == ["email", "slack"]
    mails = watch.mailbox.messages()
    assert len(mails) == 1 and "Objective missed" in str(mails[0]["Subject"])
    body = mails[0].get_body(("plain",))
    assert body is not None and "2 of 10 targets missed, 80 % within target" in " ".join(
        body.get_content().split()
    )
    kept = closed_windows(engine)
    row = next(r for r in kept if r.objective == "P1-first_response-month")
    assert (row.measured, row.misses, row.met, row.compliance_percent) == (10, 2, False, 80.0)
    # a late decision changes nothing kept, and the next run tells nobody again
    second = await watch.run()
    assert second.sent == [] and len(watch.mailbox.messages()) == 1
    assert len(closed_windows(engine)) == len(kept)
