"""Memory: what N open tickets waiting on their clocks cost the worker and the dev server,
against N bare workflows sleeping on a timer.

    python bench/open_tickets.py [--tickets 1000] [--max-cached 1000] [--concurrency 32]

Phases on one dev server (in-memory), in this order:

1. baseline: a bare worker process; warm up; RSS of worker and server; start N
   `BareOpenWorkflow`s (one week timer, confirmed by an update); RSS again.
2. slaflow: a `worker.build_worker` process; warm up; RSS; open N tickets through
   `tickets_service.open_ticket` under an agreement whose clocks are hours (so nothing fires
   during the run); wait until every ticket's page reached mail and Slack; RSS again.

Per-ticket cost = (RSS after - RSS before) / N. The worker keeps at most `--max-cached`
workflows in memory, so with N above it the worker figure measures the cache, not the tickets
(DESIGN.md: worker memory follows max_cached_workflows). The dev server keeps every history in
memory here; a real cluster keeps them in its database instead.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from typing import Any

from harness import (
    Proc,
    Stack,
    agreement_doc,
    check_errors,
    dev_server,
    header,
    history_size,
    log,
    open_tickets,
    ratio,
    rss_kib,
    run_main,
    slaflow_stack,
    start_bare_open,
    wait_for,
    worker_process,
)

from starter.temporal_client import connect

WARMUP = 20
SETTLE_S = 3.0


async def settle() -> None:
    gc.collect()
    await asyncio.sleep(SETTLE_S)


def rss_pair(worker: Proc, server_pid: int | None) -> dict[str, int | None]:
    return {
        "worker_kib": worker.rss_kib(),
        "dev_server_kib": rss_kib(server_pid) if server_pid else None,
    }


def growth(
    before: dict[str, int | None], after: dict[str, int | None], n: int
) -> dict[str, float | None]:
    def per(key: str) -> float | None:
        b, a = before[key], after[key]
        return round((a - b) / n, 2) if a is not None and b is not None else None

    return {
        "worker_kib_per_workflow": per("worker_kib"),
        "dev_server_kib_per_workflow": per("dev_server_kib"),
    }


async def baseline(stack: Stack, server_pid: int | None, args: argparse.Namespace) -> dict:
    client = await connect(stack.settings)
    queue = stack.settings.task_queue
    run = uuid.uuid4().hex[:6]
    async with worker_process("bare", stack) as worker:
        _, _, errors = await start_bare_open(
            client, queue, [f"bare-warm-{run}-{i}" for i in range(WARMUP)]
        )
        check_errors("bare warm-up", errors)
        await settle()
        before = rss_pair(worker, server_pid)
        log(f"baseline: starting {args.tickets} bare workflows sleeping on a timer")
        ids = [f"bare-open-{run}-{i}" for i in range(args.tickets)]
        wall, _, errors = await start_bare_open(client, queue, ids, concurrency=args.concurrency)
        check_errors("bare workflows", errors)
        await settle()
        after = rss_pair(worker, server_pid)
        history = await history_size(client, ids[0])
    result = {
        "workflows": args.tickets,
        "start_wall_s": round(wall, 2),
        "rss_before": before,
        "rss_after": after,
        **growth(before, after, args.tickets),
        "history_of_one": history,
    }
    log(f"baseline: {result}")
    return result


async def slaflow(stack: Stack, server_pid: int | None, args: argparse.Namespace) -> dict:
    client = await connect(stack.settings)
    queue = stack.settings.task_queue
    run = uuid.uuid4().hex[:6]
    async with worker_process("slaflow", stack) as worker:
        warm = [f"W{run}-{i}" for i in range(WARMUP)]
        _, _, errors = await open_tickets(client, queue, warm)
        check_errors("ticket warm-up", errors)
        await wait_for(
            lambda: stack.slack_count("agents") >= WARMUP and stack.mail_count() >= WARMUP,
            within=120,
            what="warm-up pages",
        )
        await settle()
        before = rss_pair(worker, server_pid)
        log(f"slaflow: opening {args.tickets} tickets (clocks of hours)")
        ids = [f"M{run}-{i}" for i in range(args.tickets)]
        began = time.monotonic()
        wall, _, errors = await open_tickets(
            client, queue, ids, concurrency=args.concurrency, priorities=("P1", "P2", "P3", "P4")
        )
        check_errors("tickets", errors)
        total = WARMUP + args.tickets
        await wait_for(
            lambda: stack.slack_count("agents") >= total and stack.mail_count() >= total,
            within=600,
            what=f"{args.tickets} pages",
            every=0.2,
            alive=[worker],
        )
        notified = time.monotonic() - began
        await settle()
        after = rss_pair(worker, server_pid)
        history = await history_size(client, f"ticket-{ids[0]}")
    result = {
        "tickets": args.tickets,
        "open_wall_s": round(wall, 2),
        "all_paged_after_s": round(notified, 2),
        "rss_before": before,
        "rss_after": after,
        **growth(before, after, args.tickets),
        "history_of_one": history,
    }
    log(f"slaflow: {result}")
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("open_tickets", args)
    async with dev_server() as (env, server_pid):
        if server_pid is None:
            log("could not find the dev server's pid: no server figures")
        address = env.client.service_client.config.target_host
        with slaflow_stack(address, agreement_doc(), max_cached_workflows=args.max_cached) as stack:
            base = await baseline(stack.with_task_queue("bare"), server_pid, args)
            ours = await slaflow(stack.with_task_queue("slaflow"), server_pid, args)
    document["baseline"] = base
    document["slaflow"] = ours
    document["ratios_vs_baseline"] = {
        "worker_kib_per_workflow": ratio(
            ours["worker_kib_per_workflow"], base["worker_kib_per_workflow"]
        ),
        "dev_server_kib_per_workflow": ratio(
            ours["dev_server_kib_per_workflow"], base["dev_server_kib_per_workflow"]
        ),
        "history_bytes": ratio(ours["history_of_one"]["bytes"], base["history_of_one"]["bytes"]),
    }
    document["summary"] = {
        "tickets": args.tickets,
        "max_cached_workflows": args.max_cached,
        "worker_kib_per_ticket": ours["worker_kib_per_workflow"],
        "worker_kib_per_bare_workflow": base["worker_kib_per_workflow"],
        "dev_server_kib_per_ticket": ours["dev_server_kib_per_workflow"],
        "dev_server_kib_per_bare_workflow": base["dev_server_kib_per_workflow"],
        "worker_rss_mib_with_tickets": round((ours["rss_after"]["worker_kib"] or 0) / 1024, 1),
    }
    return document


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1000, help="open tickets (and bare)")
    parser.add_argument(
        "--max-cached", type=int, default=1000, help="max_cached_workflows of both workers"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="opens in flight")
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse_args())
