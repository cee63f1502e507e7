"""Query latency with N open tickets: the ticket's `state` query and the manager's list
through visibility, against a bare workflow's trivial query and a bare visibility list.

    python bench/query_latency.py [--tickets 500] [--samples 300] [--concurrency 1]

Both populations live on one dev server (in-memory) and both workers run: N tickets (through
`tickets_service.open_ticket`, priorities P1..P4 in turn, clocks of hours) and N
`BareOpenWorkflow`s. Then every kind of request is sampled in turn, round-robin over the
workflows, so drift on this shared machine hits all of them alike:

* bare_query       `handle.query("state")` on a bare workflow (returns a short string)
* ticket_query     `handle.query("state", now)` on a ticket -> `TicketView` (the Temporal part)
* api_get_ticket   `GET /tickets/{id}` through the API process (what a user waits for)
* bare_list        `client.list_workflows(<bare type, running>)`, as many rows as api_list
* service_list     `tickets_service.list_tickets(priority=P1)` (the list minus HTTP)
* api_list         `GET /tickets?priority=P1` (limit 100, the API's default)

Queries go to cached workflows as long as N <= max_cached_workflows (default 1000); above it
some need a replay first, which is the point of `--tickets` above `--max-cached`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from harness import (
    agreement_doc,
    api_process,
    check_errors,
    dev_server,
    header,
    latency_ms,
    log,
    open_tickets,
    ratio,
    run_main,
    slaflow_stack,
    start_bare_open,
    wait_for,
    worker_process,
)

from slaflow.tickets import STATE_QUERY, TicketView
from slaflow.tiers import Priority
from starter import tickets_service
from starter.temporal_client import connect

PRIORITIES = ("P1", "P2", "P3", "P4")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("query_latency", args)
    run = uuid.uuid4().hex[:6]
    async with dev_server() as (env, _):
        address = env.client.service_client.config.target_host
        with slaflow_stack(address, agreement_doc(), max_cached_workflows=args.max_cached) as s:
            bare_stack = s.with_task_queue("bare")
            stack = s.with_task_queue("slaflow")
            client = await connect(stack.settings)
            async with (
                worker_process("bare", bare_stack),
                worker_process("slaflow", stack) as worker,
                api_process(stack) as (api, url),
                httpx.AsyncClient(base_url=url, headers=stack.api_headers, timeout=60) as http,
            ):
                bare_ids = [f"bare-q-{run}-{i}" for i in range(args.tickets)]
                ticket_ids = [f"Q{run}-{i}" for i in range(args.tickets)]
                log(f"starting {args.tickets} bare workflows and opening {args.tickets} tickets")
                _, _, errors = await start_bare_open(
                    client, bare_stack.settings.task_queue, bare_ids
                )
                check_errors("bare workflows", errors)
                wall, _, errors = await open_tickets(
                    client,
                    stack.settings.task_queue,
                    ticket_ids,
                    concurrency=32,
                    priorities=PRIORITIES,
                )
                check_errors("tickets", errors)
                log(f"opened in {wall:.1f}s; waiting for their pages and for visibility")
                await wait_for(
                    lambda: (
                        stack.slack_count("agents") >= args.tickets
                        and stack.mail_count() >= args.tickets
                    ),
                    within=600,
                    what="intake pages",
                    every=0.2,
                    alive=[worker, api],
                )
                bare_list_query = (
                    "WorkflowType = 'BareOpenWorkflow' AND ExecutionStatus = 'Running'"
                )
                p1_expected = min(100, len(ticket_ids[:: len(PRIORITIES)]))

                async def visible() -> bool:
                    listed = await tickets_service.list_tickets(
                        client, tickets_service.TicketFilter(priority=Priority.P1)
                    )
                    return listed.count >= p1_expected

                began = time.monotonic()
                while not await visible():
                    if time.monotonic() - began > 60:
                        raise TimeoutError("visibility did not list the P1 tickets")
                    await asyncio.sleep(0.5)

                stride = 7919  # a prime: consecutive samples hit different workflows

                def pick(ids: list[str], i: int) -> str:
                    return ids[(i * stride) % len(ids)]

                async def bare_query(i: int) -> None:
                    handle = client.get_workflow_handle(pick(bare_ids, i))
                    assert await handle.query("state", result_type=str) == "open"

                async def ticket_query(i: int) -> None:
                    handle = client.get_workflow_handle(f"ticket-{pick(ticket_ids, i)}")
                    view = await handle.query(
                        STATE_QUERY, datetime.now(UTC), result_type=TicketView
                    )
                    assert view.ticket_id == pick(ticket_ids, i)

                async def api_get_ticket(i: int) -> None:
                    response = await http.get(f"/tickets/{pick(ticket_ids, i)}")
                    response.raise_for_status()

                async def bare_list(i: int) -> None:
                    found = client.list_workflows(bare_list_query, limit=p1_expected)
                    rows = [e async for e in found]
                    assert len(rows) == p1_expected

                async def service_list(i: int) -> None:
                    listed = await tickets_service.list_tickets(
                        client, tickets_service.TicketFilter(priority=Priority.P1)
                    )
                    assert listed.count == p1_expected

                async def api_list(i: int) -> None:
                    response = await http.get("/tickets", params={"priority": "P1"})
                    response.raise_for_status()
                    assert response.json()["count"] == p1_expected

                kinds: dict[str, Callable[[int], Awaitable[None]]] = {
                    "bare_query": bare_query,
                    "ticket_query": ticket_query,
                    "api_get_ticket": api_get_ticket,
                    "bare_list": bare_list,
                    "service_list": service_list,
                    "api_list": api_list,
                }
                for job in kinds.values():  # warm-up: connections, caches, code paths
                    for i in range(5):
                        await job(i)
                log(f"sampling each of {len(kinds)} kinds {args.samples} times")
                samples = await sample(kinds, args.samples, args.concurrency)
    document["latency_ms"] = {name: latency_ms(values) for name, values in samples.items()}
    lat = document["latency_ms"]

    def ratios(name: str, base: str) -> dict[str, float | None]:
        return {p: ratio(lat[name].get(p), lat[base].get(p)) for p in ("p50", "p99")}

    document["ratios_vs_baseline"] = {
        "ticket_query_vs_bare_query": ratios("ticket_query", "bare_query"),
        "api_get_ticket_vs_bare_query": ratios("api_get_ticket", "bare_query"),
        "service_list_vs_bare_list": ratios("service_list", "bare_list"),
        "api_list_vs_bare_list": ratios("api_list", "bare_list"),
    }
    document["summary"] = {
        "open_tickets": args.tickets,
        "listed_per_request": min(100, (args.tickets + 3) // 4),
        **{f"{name}_p50_ms": lat[name].get("p50") for name in lat},
        **{f"{name}_p99_ms": lat[name].get("p99") for name in lat},
    }
    return document


async def sample(
    kinds: dict[str, Callable[[int], Awaitable[None]]], samples: int, concurrency: int
) -> dict[str, list[float]]:
    """`samples` timings of each kind, kinds interleaved; `concurrency` callers at once."""
    results: dict[str, list[float]] = {name: [] for name in kinds}
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str, i: int) -> None:
        async with gate:
            began = time.perf_counter()
            await kinds[name](i)
            results[name].append(time.perf_counter() - began)

    if concurrency == 1:
        for i in range(samples):
            for name in kinds:
                await one(name, i)
    else:
        await asyncio.gather(*(one(name, i) for i in range(samples) for name in kinds))
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=500, help="open tickets (and bare)")
    parser.add_argument("--samples", type=int, default=300, help="timings of each kind")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument(
        "--max-cached", type=int, default=1000, help="max_cached_workflows of both workers"
    )
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse_args())
