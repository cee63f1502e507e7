"""A worker killed with SIGKILL in the middle of an escalation burst loses no escalation and
sends none twice.

Real processes on 127.0.0.1: the session's Temporal dev server, a Mailbox (SMTP) and a Slack
stand-in of this test, an SQLite file, and `slaflow worker` as a subprocess in its own process
group. N_TICKETS (200; SLAFLOW_RESTART_TICKETS) P1 tickets open together under an agreement
whose clocks are seconds (every ack window ACK_SECONDS, 24 s for 200 tickets, and the first
response twice that), so they all escalate at the same moments. As soon as the first
escalation emails of the burst arrive, the worker gets SIGKILL; deadlines pass while no worker
runs; a new worker takes over. When every ticket has reached management and no activity is
pending, each notification must exist exactly once: at the mailbox (one message per Message-ID,
which is derived from the idempotency key), at the Slack stand-in (one post per ticket, notice
and channel, one root per tier channel), in the `notifications` table, and in the ticket's
history.

The documented limit of the activities: a SIGKILL after the SMTP server accepted a message (or
Slack answered a post) but before the idempotency row is written sends that notification again
when the attempt is retried. Such a duplicate has a fingerprint (first copy before the kill, the
row written only by the retry after the restart); the test counts those, runs every other check
without them, and then reports XFAIL naming each one. Any other duplicate, and any loss, FAILS.

Timing: an activity attempt the killed worker had started stops heartbeating with it, so it is
retried once its 5 s heartbeat timeout runs out (`NOTIFY_HEARTBEAT` in
`workflows/activity_calls.py`), not after its 60 s start-to-close timeout; a ticket's Slack
posts go one at a time, so such a ticket's later notices wait that long at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from sqlmodel import Session, create_engine, select
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle

from activities.tables import NotificationRow
from slaflow.agreement_file import dump_agreement
from slaflow.tickets import STATE_QUERY, EventKind, TicketInput, TicketView, workflow_id_for
from slaflow.tiers import Tier
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin, StoredMessage
from starter.tickets_service import open_ticket
from tests.factories import DEFAULT_SELECTION, agreement_doc, make_agreement

pytestmark = pytest.mark.integration

N_TICKETS = int(os.environ.get("SLAFLOW_RESTART_TICKETS", "200"))
ACK_SECONDS = max(3, math.ceil(N_TICKETS * 0.12))
"""Long enough for every ticket to open before the first window lapses (intake here runs at
15-20 tickets/s), so the whole burst escalates together."""
ACK_WINDOW = f"{ACK_SECONDS}s"
FIRST_RESPONSE = f"{2 * ACK_SECONDS}s"
KILL_AFTER = 3
"""Kill once this many first escalation emails (agent -> team lead) have arrived."""
DOWN_FOR = ACK_SECONDS + 1.0
"""Seconds without a worker: the team lead's window and the first-response target run out."""
SETTLE_WITHIN = 110.0
"""Patience after the restart; must exceed the notifications' 60 s start-to-close timeout."""

BOT_TOKEN = "xoxb-worker-restart"
SIGNING_SECRET = "worker-restart-signing-secret"
TIER_CHANNELS = ("agents", "leads", "specialists", "management")
ADDRESS_TIER = {
    "agent": Tier.AGENT,
    "lead": Tier.TEAM_LEAD,
    "spec": Tier.SPECIALIST,
    "mgmt": Tier.MANAGEMENT,
}
REQUIRED_EMAILS = {
    ("new_ticket", Tier.AGENT),
    ("escalation", Tier.TEAM_LEAD),
    ("escalation", Tier.SPECIALIST),
    ("escalation", Tier.MANAGEMENT),
}
"""(notice, tier of the recipients) every ticket must have mailed, whatever the kill skipped.
Warnings come on top: those made moot by a breach while no worker ran are rightly never sent."""
TICKET_IN_TEXT = re.compile(r"\b(KILL-[0-9a-f]+-\d+)\b")


def ladder_agreement_yaml() -> str:
    """P1 climbs agent -> team lead (one ack window) -> specialist (first response breached at
    two) -> management (one window later); management is never re-paged, so the ticket then goes
    quiet."""
    doc = agreement_doc()
    for policy in doc["escalation"]["tiers"]:
        policy["ack_window"] = ACK_WINDOW
    doc["escalation"]["repeat_limit"] = 0
    doc["objectives"]["P1"]["first_response"]["within"] = FIRST_RESPONSE
    doc["objectives"]["P1"]["resolution"]["within"] = "30m"
    return dump_agreement(make_agreement(**doc))


# ----- the worker subprocess ---------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """`slaflow worker` in its own session, so SIGKILL reaches its whole process group."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL, no grace: no activity finishes, no completion is reported."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class WorkerLauncher:
    env: dict[str, str]
    workdir: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self) -> WorkerProcess:
        argv = [str(Path(sys.executable).parent / "slaflow"), "worker"]
        log_path = self.workdir / f"worker-{len(self.started) + 1}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.workdir,  # no stray .env from the repository
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log_path)
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            worker.kill()


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def restart_mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with Mailbox(tmp_path / "mail", port=0) as box:
        yield box


@pytest.fixture
def restart_slack() -> Iterator[SlackStandin]:
    with SlackStandin(SIGNING_SECRET, BOT_TOKEN, port=0) as standin:
        yield standin


@pytest.fixture
def task_queue() -> str:
    return f"worker-restart-{uuid.uuid4()}"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'slaflow.db'}"


@pytest.fixture
def launcher(
    tmp_path: Path,
    temporal: Client,
    restart_mailbox: Mailbox,
    restart_slack: SlackStandin,
    task_queue: str,
    database_url: str,
) -> Iterator[WorkerLauncher]:
    """Starts worker subprocesses; every one is killed (process group, SIGKILL) at teardown."""
    agreement = tmp_path / "agreement.yaml"
    agreement.write_text(ladder_agreement_yaml())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLAFLOW_")}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "SLAFLOW_DATA_DIR": str(tmp_path),
            "SLAFLOW_DATABASE_URL": database_url,
            "SLAFLOW_AGREEMENT_FILE": str(agreement),
            "SLAFLOW_TEMPORAL_ADDRESS": temporal.service_client.config.target_host,
            "SLAFLOW_TASK_QUEUE": task_queue,
            "SLAFLOW_SMTP_HOST": "127.0.0.1",
            "SLAFLOW_SMTP_PORT": str(restart_mailbox.port),
            "SLAFLOW_SLACK_BASE_URL": restart_slack.base_url,
            "SLAFLOW_SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLAFLOW_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLAFLOW_GRACEFUL_SHUTDOWN_SECONDS": "2",
        }
    )
    workers = WorkerLauncher(env, tmp_path)
    try:
        yield workers
    finally:
        workers.kill_all()


@pytest.fixture
async def ticket_handles(temporal: Client) -> AsyncIterator[list[WorkflowHandle[Any, Any]]]:
    """The test's tickets; terminated at teardown so nothing of them outlives the test."""
    handles: list[WorkflowHandle[Any, Any]] = []
    yield handles
    for handle in handles:
        with contextlib.suppress(Exception):
            await handle.terminate("worker restart test finished")


# ----- what arrived, and what was recorded -------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    arrived: float  # seconds since the epoch, from the Mailbox's file name
    ticket: str
    notice: str
    tier: Tier
    message_id: str


@dataclass(frozen=True)
class Post:
    ticket: str
    channel_id: str
    channel: str
    ts: str
    thread_ts: str | None
    says: str  # headline, reason, notice kind and tier: equal for every attempt of one notice

    @property
    def arrived(self) -> float:
        return float(self.ts)  # the stand-in's ts is its clock at posting

    @property
    def notice(self) -> tuple[str, str, str | None, str]:
        return self.ticket, self.channel, self.thread_ts, self.says


@dataclass(frozen=True)
class Receipt:
    key: str
    ticket: str
    sent_at: float  # when the activity wrote the row: after the delivery succeeded
    message_id: str | None = None
    post: tuple[str, str] | None = None  # (channel id, ts)


def _recipient_tier(message: EmailMessage) -> Tier:
    to = str(message["To"])
    prefix = re.match(r"\s*([a-z]+)\d+@", to)
    assert prefix and prefix[1] in ADDRESS_TIER, f"unexpected recipient {to}"
    return ADDRESS_TIER[prefix[1]]


def read_mails(directory: Path, tickets: set[str]) -> list[Mail]:
    mails = []
    for path in sorted(directory.glob("*.eml")):
        message = cast(
            EmailMessage,
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default),
        )
        ticket = str(message["X-Slaflow-Ticket"])
        if ticket in tickets:
            mails.append(
                Mail(
                    arrived=int(path.name.split("-")[0]) / 1e9,
                    ticket=ticket,
                    notice=str(message["X-Slaflow-Notice"]),
                    tier=_recipient_tier(message),
                    message_id=str(message["Message-ID"]),
                )
            )
    return mails


def _slack_ticket(message: StoredMessage) -> str | None:
    found = TICKET_IN_TEXT.search(message.text)
    return found[1] if found else None


def read_posts(standin: SlackStandin, tickets: set[str]) -> list[Post]:
    with standin.state.lock:
        messages = list(standin.state.messages)
    posts = []
    for m in messages:
        ticket = _slack_ticket(m)
        if ticket not in tickets:
            continue
        blocks = m.blocks or []
        headline = str(blocks[1]["text"]["text"]) if len(blocks) > 1 else m.text
        context = str(blocks[-1].get("elements", [{}])[0].get("text", "")) if blocks else ""
        posts.append(
            Post(
                ticket=cast(str, ticket),
                channel_id=m.channel,
                channel=m.channel_name,
                ts=m.ts,
                thread_ts=m.thread_ts,
                says=f"{headline} // {context}",  # not the time-left lines: rendered at sending
            )
        )
    return posts


def read_receipts(database_url: str, tickets: set[str]) -> list[Receipt]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = [
                r for r in session.exec(select(NotificationRow)).all() if r.ticket_id in tickets
            ]
    finally:
        engine.dispose()
    out = []
    for row in rows:
        sent = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=UTC)
        receipt = dict(row.receipt)
        out.append(
            Receipt(
                key=row.idempotency_key,
                ticket=row.ticket_id,
                sent_at=sent.timestamp(),
                message_id=receipt.get("message_id") if row.channel == "email" else None,
                post=(receipt["channel"], receipt["ts"]) if row.channel == "slack" else None,
            )
        )
    return out


@dataclass
class Duplicates:
    """Extra copies the documented window explains (dropped before the other checks) and
    duplicates nothing explains (each a failure)."""

    explained: list[str] = field(default_factory=list)
    explained_mails: set[Mail] = field(default_factory=set)
    unexplained: list[str] = field(default_factory=list)


def classify_duplicates(
    mails: list[Mail],
    posts: list[Post],
    receipts: list[Receipt],
    killed_at: float,
    restarted_at: float,
) -> Duplicates:
    """An email duplicate is the documented limit when its first copy arrived before the
    restart (the dead worker sent it, possibly as it died), the other after it, and the
    idempotency row was written only after the restart (by the retry). SMTP offers no way to
    ask whether a message was delivered; Slack does, so Slack duplicates always fail."""
    found = Duplicates()
    by_message_id = {r.message_id: r for r in receipts if r.message_id}
    by_post = {r.post: r for r in receipts if r.post}

    mail_groups: dict[str, list[Mail]] = defaultdict(list)
    for mail in mails:
        mail_groups[mail.message_id].append(mail)
    for message_id, copies in mail_groups.items():
        if len(copies) < 2:
            continue
        copies.sort(key=lambda m: m.arrived)
        row = by_message_id.get(message_id)
        what = (
            f"email {copies[0].notice} to {copies[0].tier} of {copies[0].ticket} "
            f"({message_id}) arrived {len(copies)}x at "
            + ", ".join(f"kill{m.arrived - killed_at:+.3f}s" for m in copies)
            + (f"; row written kill{row.sent_at - killed_at:+.3f}s" if row else "; no row")
        )
        if (
            len(copies) == 2
            and copies[0].arrived < restarted_at  # sent by the dead worker (or as it died)
            and copies[1].arrived >= restarted_at
            and row is not None
            and row.sent_at >= restarted_at
        ):
            found.explained.append(what)
            found.explained_mails.add(copies[0])
        else:
            found.unexplained.append(what)

    post_groups: dict[tuple[str, str, str | None, str], list[Post]] = defaultdict(list)
    for post in posts:
        post_groups[post.notice].append(post)
    for group in post_groups.values():
        if len(group) < 2:
            continue
        recorded = [p for p in group if (p.channel_id, p.ts) in by_post]
        first = group[0]
        kind = "root post" if first.thread_ts is None else "thread reply"
        row = by_post[(recorded[0].channel_id, recorded[0].ts)] if len(recorded) == 1 else None
        what = (
            f"slack {kind} in #{first.channel} for {first.ticket} posted {len(group)}x at "
            + ", ".join(f"kill{p.arrived - killed_at:+.3f}s" for p in group)
            + (f"; row written kill{row.sent_at - killed_at:+.3f}s" if row else "")
            + f" ({first.says[:80]!r})"
        )
        # Slack has no window: a retry reads the channel for the key in the message metadata
        # and adopts the earlier post, so every Slack duplicate is a failure.
        found.unexplained.append(what)
    return found


def delivery_lag_ms(mails: list[Mail], posts: list[Post], receipts: list[Receipt]) -> str:
    """How long each delivery stayed unrecorded (accepted -> row written): the window in which
    a SIGKILL makes the retry deliver again."""
    arrived: dict[str | tuple[str, str], float] = {m.message_id: m.arrived for m in mails}
    arrived.update({(p.channel_id, p.ts): p.arrived for p in posts})
    lags = sorted(
        (r.sent_at - arrived[delivery]) * 1000
        for r in receipts
        if (delivery := r.message_id or r.post) is not None and delivery in arrived
    )
    if not lags:
        return "n/a"
    p95 = lags[min(len(lags) - 1, int(len(lags) * 0.95))]
    return f"median {statistics.median(lags):.0f} ms, p95 {p95:.0f} ms, max {lags[-1]:.0f} ms"


# ----- waiting ------------------------------------------------------------------------------------


async def _has_poller(client: Client, task_queue: str) -> bool:
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return bool(answer.pollers)


async def wait_for(
    probe: Callable[[], bool | Awaitable[bool]],
    *,
    within: float,
    what: str,
    worker: WorkerProcess,
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if not worker.running:
            raise AssertionError(f"worker exited while waiting for {what}:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {within:g}s waiting for {what}\nworker log:\n{worker.log_tail()}"
            )
        await asyncio.sleep(0.02)


async def _view(handle: WorkflowHandle[Any, Any]) -> TicketView | None:
    try:
        view: TicketView = await handle.query(
            STATE_QUERY,
            datetime.now(UTC),
            result_type=TicketView,
            rpc_timeout=timedelta(seconds=5),
        )
    except Exception:  # a ticket whose sticky worker died answers once the server moves it
        return None
    return view


async def _pending_activities(handle: WorkflowHandle[Any, Any]) -> int:
    description = await handle.describe()
    return len(description.raw_description.pending_activities)


async def _retries(handle: WorkflowHandle[Any, Any]) -> tuple[int, int]:
    """(activities that needed a second attempt, workflow tasks that timed out)."""
    history = await handle.fetch_history()
    retried = timed_out = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retried += event.activity_task_started_event_attributes.attempt > 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            timed_out += 1
    return retried, timed_out


# ----- the test ----------------------------------------------------------------------------------


async def test_sigkilled_worker_loses_no_escalation_and_sends_none_twice(
    temporal: Client,
    launcher: WorkerLauncher,
    restart_mailbox: Mailbox,
    restart_slack: SlackStandin,
    task_queue: str,
    database_url: str,
    ticket_handles: list[WorkflowHandle[Any, Any]],
) -> None:
    began = time.monotonic()
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = round(time.monotonic() - began, 2)

    first = launcher.start()
    await wait_for(
        lambda: _has_poller(temporal, task_queue), within=30, what="first worker", worker=first
    )
    mark("first worker polling")

    run = uuid.uuid4().hex[:6]
    ticket_ids = [f"KILL-{run}-{i:02d}" for i in range(N_TICKETS)]
    wanted = set(ticket_ids)
    opened_at = datetime.now(UTC)
    ticket_handles.extend(temporal.get_workflow_handle(workflow_id_for(t)) for t in ticket_ids)
    opened = await asyncio.gather(
        *(
            open_ticket(
                temporal,
                task_queue,
                TicketInput(
                    ticket_id=ticket_id,
                    customer="ACME",
                    subject="Checkout fails",
                    description="HTTP 500 on payment",
                    priority="P1",
                    channel="phone",
                    requester_email="buyer@acme.example",
                    opened_at=opened_at,
                ),
                DEFAULT_SELECTION,
            )
            for ticket_id in ticket_ids
        )
    )
    assert all(o.created and o.view.tier is Tier.AGENT for o in opened)
    mark("tickets open")

    def escalated_to_lead() -> int:
        return sum(
            1
            for m in restart_mailbox.messages()
            if m["X-Slaflow-Ticket"] in wanted
            and m["X-Slaflow-Notice"] == "escalation"
            and _recipient_tier(m) is Tier.TEAM_LEAD
        )

    await wait_for(
        lambda: escalated_to_lead() >= KILL_AFTER,
        within=30,
        what=f"{KILL_AFTER} escalations to the team lead",
        worker=first,
    )
    first.kill()
    killed_at = time.time()
    mark("worker SIGKILLed")
    at_kill = escalated_to_lead()
    assert at_kill < N_TICKETS, (
        f"the burst was over before the kill ({at_kill} of {N_TICKETS} escalated), so nothing "
        "was interrupted: open more tickets"
    )

    await asyncio.sleep(DOWN_FOR)
    restarted_at = time.time()
    second = launcher.start()
    mark("second worker started")

    def management_delivered() -> bool:
        mailed = {
            m["X-Slaflow-Ticket"]
            for m in restart_mailbox.messages()
            if m["X-Slaflow-Notice"] == "escalation" and _recipient_tier(m) is Tier.MANAGEMENT
        }
        with restart_slack.state.lock:
            rooted = {
                _slack_ticket(m)
                for m in restart_slack.state.messages
                if m.channel_name == "management" and m.thread_ts is None
            }
        return wanted <= mailed and wanted <= rooted

    async def settled() -> bool:
        if not management_delivered():
            return False
        views = await asyncio.gather(*(_view(h) for h in ticket_handles))
        if not all(v is not None and v.tier is Tier.MANAGEMENT for v in views):
            return False
        pending = await asyncio.gather(*(_pending_activities(h) for h in ticket_handles))
        return sum(pending) == 0

    await wait_for(
        settled,
        within=SETTLE_WITHIN,
        what="every ticket at management with every notification delivered",
        worker=second,
    )
    mark("settled")
    await asyncio.sleep(1.0)  # a late duplicate would land now
    views = cast(list[TicketView], await asyncio.gather(*(_view(h) for h in ticket_handles)))
    assert all(v is not None for v in views)
    retries = await asyncio.gather(*(_retries(h) for h in ticket_handles))

    mails = read_mails(restart_mailbox.directory, wanted)
    posts = read_posts(restart_slack, wanted)
    receipts = read_receipts(database_url, wanted)
    duplicates = classify_duplicates(mails, posts, receipts, killed_at, restarted_at)
    mails = [m for m in mails if m not in duplicates.explained_mails]

    # The mailbox: every Message-ID once, every required notice for every ticket.
    by_message_id = Counter(m.message_id for m in mails)
    notices: dict[str, set[tuple[str, Tier]]] = {t: set() for t in ticket_ids}
    for m in mails:
        notices[m.ticket].add((m.notice, m.tier))
    missing_mail = {
        t: sorted(f"{n} to {tier}" for n, tier in REQUIRED_EMAILS - seen)
        for t, seen in notices.items()
        if REQUIRED_EMAILS - seen
    }

    # Slack: every (ticket, notice, channel, thread) once; one root per ticket and tier channel.
    roots = Counter((p.ticket, p.channel) for p in posts if p.thread_ts is None)
    bad_roots = {
        f"{t} #{channel}": roots[(t, channel)]
        for t in ticket_ids
        for channel in TIER_CHANNELS
        if roots[(t, channel)] != 1
    }

    # The idempotency table names exactly what arrived.
    recorded_posts = {r.post for r in receipts if r.post}
    recorded_mail = {r.message_id for r in receipts if r.message_id}
    arrived_posts = {(p.channel_id, p.ts) for p in posts}

    # Each ticket's history notes the same deliveries, no failure, and one climb per tier.
    history: dict[str, str] = {}
    for view in views:
        notified = [e.detail for e in view.events if e.kind is EventKind.NOTIFIED]
        failed = [e.detail for e in view.events if e.kind is EventKind.NOTIFICATION_FAILED]
        climbed = [str(e.tier) for e in view.events if e.kind is EventKind.ESCALATED]
        noted = (
            sum(d.startswith("email ") for d in notified),
            sum(d.startswith("slack ") for d in notified),
        )
        got = (
            sum(m.ticket == view.ticket_id for m in mails),
            sum(p.ticket == view.ticket_id for p in posts),
        )
        if noted != got or failed or climbed != ["team_lead", "specialist", "management"]:
            history[view.ticket_id] = (
                f"noted (emails, posts) {noted}, delivered {got}; failed {failed}; "
                f"climbed {climbed}"
            )

    last_management = max(
        m.arrived for m in mails if m.notice == "escalation" and m.tier is Tier.MANAGEMENT
    )
    summary = {
        "marks_s": marks,
        "last_management_email_after_opening_s": round(last_management - opened_at.timestamp(), 1),
        "escalated_to_lead_at_kill": f"{at_kill}/{N_TICKETS}",
        "emails": len(mails),
        "posts": len(posts),
        "activities_retried": sum(r for r, _ in retries),
        "workflow_tasks_timed_out": sum(t for _, t in retries),
        "accepted_to_recorded": delivery_lag_ms(mails, posts, receipts),
        "duplicates_in_documented_window": len(duplicates.explained),
    }
    print(f"\nworker restart summary: {summary}")

    problems: dict[str, Any] = {
        "duplicates no crash window explains": duplicates.unexplained,
        "Message-IDs arriving more than once": {k: n for k, n in by_message_id.items() if n > 1},
        "tickets missing required emails": missing_mail,
        "Slack notices posted more than once": [
            k for k, n in Counter(p.notice for p in posts).items() if n > 1
        ],
        "ticket channels without exactly one root post": bad_roots,
        "posts without an idempotency row": sorted(arrived_posts - recorded_posts),
        "Slack receipts with no post": sorted(recorded_posts - arrived_posts),
        "emails without an idempotency row": sorted(set(by_message_id) - recorded_mail),
        "email receipts with no email": sorted(recorded_mail - set(by_message_id)),
        "tickets whose history disagrees": history,
    }
    found = {what: detail for what, detail in problems.items() if detail}
    assert not found, f"after the SIGKILL: {found}\nsummary: {summary}"
    if duplicates.explained:
        pytest.xfail(
            f"documented limit hit: {len(duplicates.explained)} notification(s) delivered by the "
            "killed worker before it recorded them, and delivered again by the retry: "
            + "; ".join(duplicates.explained)
        )
