"""A worker in its own process, so its memory and CPU can be measured apart from the load.

    python bench/worker_proc.py slaflow    # worker.build_worker: real workflows and activities
    python bench/worker_proc.py bare       # the baseline workflows, same worker options

Settings come from SLAFLOW_* variables (the harness sets them). Prints "ready" on stdout once
polling, then runs until stdin closes or SIGTERM/SIGINT arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from baseline_workflows import BARE_ACTIVITIES, BARE_WORKFLOWS
from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from slaflow.settings import Settings
from starter.temporal_client import connect
from worker import build_worker, prepare_database


def bare_worker(client: Client, settings: Settings) -> Worker:
    """The baseline worker, with the options `build_worker` gives slaflow's."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=BARE_WORKFLOWS,
        activities=BARE_ACTIVITIES,
        activity_executor=ThreadPoolExecutor(max_workers=16),
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
    )


async def main(kind: str) -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: None if sys.stdin.read(1) else stop.set())
    client = await connect(settings)
    engine = None
    if kind == "slaflow":
        engine = prepare_database(settings)
        worker = build_worker(client, settings, engine)
    elif kind == "bare":
        worker = bare_worker(client, settings)
    else:
        raise SystemExit(f"unknown worker kind {kind!r}: slaflow or bare")
    async with worker:
        print("ready", flush=True)
        await stop.wait()
    if engine is not None:
        engine.dispose()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "slaflow"))
