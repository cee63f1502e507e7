"""The worker: hosts the workflows and activities of slaflow on one task queue.

Run as many as load needs (`slaflow worker`); Temporal spreads work over them. SIGTERM and SIGINT
stop polling, let running activities finish within the graceful-shutdown timeout, and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.agreement_store import seed_agreements
from activities.amendments import AmendmentActivities
from activities.db import make_engine
from activities.facts import FactsActivities
from activities.heartbeat import DeliveryHeartbeatInterceptor
from activities.notification_metrics import NotificationMetricsInterceptor
from activities.notify_amendment import AmendmentNotifyActivities
from activities.notify_email import EmailActivities
from activities.notify_slack import SlackActivities
from activities.schema import SchemaNotCurrent, prepare_schema
from activities.service_levels import (
    ServiceLevelActivities,
    ServiceLevelNotifyActivities,
    VisibilityBreaches,
)
from activities.terms import TermsActivities
from activities.ticket_mover import TicketMoverActivities
from slaflow.secret_policy import InsecureSettings, refuse_weak_secrets
from slaflow.settings import Settings, get_settings
from starter.logs import configure_logging
from starter.service_level_schedule import ensure_service_level_schedule
from starter.telemetry import serve_worker_metrics, worker_runtime
from starter.temporal_client import connect
from starter.workflow_bytecode import write_workflow_bytecode
from workflows.amendment import AmendmentWorkflow
from workflows.service_level_watch import ServiceLevelWatchWorkflow
from workflows.ticket import TicketWorkflow

log = logging.getLogger("slaflow.worker")

WORKFLOWS: Sequence[type] = (TicketWorkflow, AmendmentWorkflow, ServiceLevelWatchWorkflow)

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "slaflow",
        "workflows.activity_calls",
        "workflows.amendment_calls",
        "workflows.service_level_calls",
    )
)
"""The sandbox re-executes each workflow module for every run; the deterministic modules they
import (rules, models, activity call options) are shared instead of rebuilt for every ticket."""


def activities_for(settings: Settings, engine: Engine, client: Client) -> list[Any]:
    """Every activity, bound to the settings and clients it needs."""
    terms = TermsActivities(engine)
    facts = FactsActivities(engine)
    email = EmailActivities(settings, engine)
    slack = SlackActivities(settings, engine)
    amendments = AmendmentActivities(engine)
    amendment_notices = AmendmentNotifyActivities(email, slack)
    mover = TicketMoverActivities(client)
    service_levels = ServiceLevelActivities(engine, VisibilityBreaches(client))
    service_level_notices = ServiceLevelNotifyActivities(email, slack)
    return [
        terms.pin_terms,
        facts.record_ticket_facts,
        email.send_email,
        slack.post_slack,
        slack.update_slack_root,
        amendments.amendment_impact,
        amendments.commit_amendment,
        amendment_notices.send_amendment_email,
        amendment_notices.post_amendment_slack,
        mover.move_open_tickets,
        service_levels.service_level_statuses,
        service_levels.record_service_level_closing,
        service_level_notices.send_service_level_email,
        service_level_notices.post_service_level_slack,
    ]


def build_worker(
    client: Client, settings: Settings, engine: Engine, *, task_queue: str | None = None
) -> Worker:
    """A worker for the task queue; sync (database) activities run on a thread pool."""
    write_workflow_bytecode(WORKFLOWS)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        activities=activities_for(settings, engine, client),
        activity_executor=ThreadPoolExecutor(max_workers=16),
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        interceptors=[NotificationMetricsInterceptor(), DeliveryHeartbeatInterceptor()],
    )


def prepare_database(settings: Settings) -> Engine:
    """Engine with the schema at head (upgraded here unless SLAFLOW_DB_AUTO_MIGRATE=false, then
    refused if behind) and agreement version 1 seeded on first start."""
    engine = make_engine(settings.resolved_database_url)
    prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
    seed_agreements(engine, settings.agreement_file)
    return engine


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set or the process receives SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    engine = prepare_database(settings)
    metrics = serve_worker_metrics(settings)
    client = await connect(settings, runtime=worker_runtime(settings))
    worker = build_worker(client, settings, engine)
    await ensure_service_level_schedule(client, settings)
    log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("worker stopping: finishing running activities")
    log.info("worker stopped")
    if metrics is not None:
        metrics.stop()
    engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(settings)
    try:
        refuse_weak_secrets(settings, "worker")
    except InsecureSettings as exc:
        print(exc, file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    try:
        asyncio.run(run_worker(settings))
    except SchemaNotCurrent as exc:
        log.error("%s", exc)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
