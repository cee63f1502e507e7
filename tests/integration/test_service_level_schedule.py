"""Service levels on the dev server: the worker creates the schedule, a triggered run counts an
open P1 ticket whose first response breached (found through visibility), and warns management
by email and Slack once; the API and the CLI show the same window.

The worker here is `worker.run_worker`, exactly what `slaflow worker` and `slaflow run` start,
with a database and agreement of its own (P1 first response in 2 seconds, a monthly objective)
and a task queue of its own, beside the session's shared stack.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, ScheduleActionStartWorkflow
from typer.testing import CliRunner

from activities.service_levels import VisibilityBreaches
from slaflow.agreement_file import dump_agreement
from slaflow.roles import Role
from slaflow.settings import Settings, get_settings
from slaflow.tickets import TicketInput
from slaflow.tiers import Channel, Priority
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter.api.main import create_app
from starter.cli import app as cli_app
from starter.service_level_schedule import ensure_service_level_schedule
from starter.tickets_service import open_ticket
from tests.factories import DEFAULT_SELECTION, agreement_doc, make_agreement
from tests.integration.conftest import BOT_TOKEN, SIGNING_SECRET, eventually
from worker import run_worker
from workflows.service_level_calls import WatchResult, schedule_id_for

pytestmark = pytest.mark.integration

TOKENS = {"sl-manager-token": Role.MANAGER, "sl-agent-token": Role.AGENT}
EXHAUSTED = "Error budget exhausted: P1 first responses: 95 % within target per month"


class WorkerThread:
    """`run_worker` on a loop of its own: a thread (not the main one) installs no signal
    handlers, and the test stops it the way SIGTERM would, by setting its stop event."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sl-worker", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.stop = asyncio.Event()
            await run_worker(self.settings, stop=self.stop)

        try:
            self.loop.run_until_complete(main())
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error
        finally:
            self.loop.close()

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        if self.stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)


@pytest.fixture
def sl_settings(
    temporal: Client, mailbox: Mailbox, slack: SlackStandin, stack_dir: Path
) -> Settings:
    directory = stack_dir / f"service-levels-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    doc = agreement_doc(
        service_levels=[
            {"priority": "P1", "target": "first_response", "percent": 95, "warn_when_spent": 50}
        ]
    )
    doc["objectives"]["P1"]["first_response"] = {"within": "2s"}
    agreement = directory / "agreement.yaml"
    agreement.write_text(dump_agreement(make_agreement(**doc)))
    return Settings(
        _env_file=None,
        data_dir=directory,
        database_url=f"sqlite:///{directory / 'slaflow.db'}",
        agreement_file=agreement,
        temporal_address=temporal.service_client.config.target_host,
        task_queue=f"service-levels-{uuid.uuid4().hex[:8]}",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        slack_base_url=slack.base_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        api_tokens=TOKENS,
        service_level_check_every=timedelta(hours=1),  # only the test's triggers run it
        worker_metrics_port=0,
        temporal_metrics_port=0,
        graceful_shutdown_seconds=5,
    )


@pytest.fixture
def sl_worker(sl_settings: Settings) -> Iterator[WorkerThread]:
    worker = WorkerThread(sl_settings)
    worker.start()
    yield worker
    worker.close()
    assert worker.error is None, worker.error


def management_mail(mailbox: Mailbox) -> list[str]:
    return [str(m["Subject"]) for m in mailbox.messages() if "Error budget" in str(m["Subject"])]


def management_posts(slack: SlackStandin) -> list[str]:
    with slack.state.lock:
        return [m.text for m in slack.state.messages if "Error budget" in m.text]


async def run_of(temporal: Client, task_queue: str, seen: set[str]) -> WatchResult:
    """The result of the next scheduled run on `task_queue` whose run id is not in `seen`
    (runs triggered within one second share a workflow id: Temporal appends the time)."""

    async def finished() -> tuple[str, str] | None:
        query = f"WorkflowType = 'ServiceLevelWatchWorkflow' AND TaskQueue = '{task_queue}'"
        async for execution in temporal.list_workflows(query):
            if execution.run_id not in seen and execution.close_time is not None:
                return execution.id, execution.run_id
        return None

    workflow_id, run_id = await eventually(finished, within=30, what="a scheduled run")
    seen.add(run_id)
    handle = temporal.get_workflow_handle(workflow_id, run_id=run_id, result_type=WatchResult)
    return await handle.result()


async def test_the_worker_schedules_the_watch_which_warns_management_once(
    temporal: Client,
    sl_settings: Settings,
    sl_worker: WorkerThread,
    mailbox: Mailbox,
    slack: SlackStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task_queue = sl_settings.task_queue
    schedule = temporal.get_schedule_handle(schedule_id_for(task_queue))

    async def described() -> object:
        if sl_worker.error is not None:
            raise AssertionError(f"the worker failed: {sl_worker.error!r}")
        try:
            return await schedule.describe()
        except Exception:
            return None

    description = await eventually(described, within=30, what="the schedule")
    action = description.schedule.action  # type: ignore[attr-defined]
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "ServiceLevelWatchWorkflow" and action.task_queue == task_queue
    spec = description.schedule.spec  # type: ignore[attr-defined]
    assert [i.every for i in spec.intervals] == [timedelta(hours=1)]

    # A P1 ticket nobody answers: its 2-second first response breaches while it stays open.
    ticket_id = f"SL-{uuid.uuid4().hex[:8]}"
    ticket = TicketInput(
        ticket_id=ticket_id,
        customer="Service levels",
        subject="Down",
        description="Nothing works",
        priority=Priority.P1,
        channel=Channel.PHONE,
        requester_email="ops@acme.example",
    )
    await open_ticket(temporal, task_queue, ticket, DEFAULT_SELECTION)
    breaches = VisibilityBreaches(temporal)
    try:

        async def breached() -> bool:
            found = await breaches(task_queue, datetime.now(UTC) - timedelta(days=1))
            return any(t.ticket_id == ticket_id and t.first_response_missed for t in found)

        await eventually(breached, within=30, what="the open ticket's breach in visibility")

        seen: set[str] = set()
        await schedule.trigger()
        first = await run_of(temporal, task_queue, seen)
        p1 = first.statuses[0]
        assert (p1.objective, p1.measured, p1.misses, p1.state) == (
            "P1-first_response-month",
            1,
            1,
            "exhausted",
        )
        assert p1.low_volume and not first.failed
        assert sorted(r.medium for r in first.sent) == ["email", "slack"]
        assert any(EXHAUSTED in subject for subject in management_mail(mailbox))
        mails, posts = len(management_mail(mailbox)), len(management_posts(slack))
        assert mails == 1 and posts == 1

        # Triggered again in the same window: nothing new goes out.
        await schedule.trigger()
        second = await run_of(temporal, task_queue, seen)
        assert second.sent == [] and second.statuses[0].notified == ["exhausted"]
        assert len(management_mail(mailbox)) == 1 and len(management_posts(slack)) == 1

        # The manager's endpoint shows the same window; an agent may not read it.
        app = create_app(sl_settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sl.test") as api:
                denied = await api.get(
                    "/reports/service-levels",
                    headers={"Authorization": "Bearer sl-agent-token"},
                )
                assert denied.status_code == 403, denied.text
                answer = await api.get(
                    "/reports/service-levels",
                    headers={"Authorization": "Bearer sl-manager-token"},
                )
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert shown["open_breaches"] == 1
        status = shown["statuses"][0]
        assert (status["measured"], status["misses"], status["state"], status["notified"]) == (
            1,
            1,
            "exhausted",
            ["exhausted"],
        )

        # And the CLI, with the same settings from the environment.
        for name, value in {
            "SLAFLOW_TEMPORAL_ADDRESS": sl_settings.temporal_address,
            "SLAFLOW_TASK_QUEUE": task_queue,
            "SLAFLOW_DATABASE_URL": sl_settings.resolved_database_url,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        runner = CliRunner()
        table = await asyncio.to_thread(runner.invoke, cli_app, ["service-levels"])
        assert table.exit_code == 0, table.output
        assert "P1-first_response-month" in table.stdout and "exhausted" in table.stdout
        as_json = await asyncio.to_thread(runner.invoke, cli_app, ["service-levels", "--json"])
        assert json.loads(as_json.stdout)["statuses"][0]["misses"] == 1
        get_settings.cache_clear()
    finally:
        await temporal.get_workflow_handle(f"ticket-{ticket_id}").terminate("test finished")

    # A restart (or a second worker) updates the one schedule instead of adding another.
    changed = sl_settings.model_copy(update={"service_level_check_every": timedelta(minutes=30)})
    assert await ensure_service_level_schedule(temporal, changed) == schedule.id
    spec = (await schedule.describe()).schedule.spec
    assert [i.every for i in spec.intervals] == [timedelta(minutes=30)]

    async def listed_once() -> bool:
        ids = [s.id async for s in await temporal.list_schedules()]
        assert ids.count(schedule.id) <= 1, ids
        return ids.count(schedule.id) == 1

    await eventually(listed_once, what="the schedule, listed once")
    await schedule.delete()
