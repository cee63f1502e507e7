"""Intake: tickets opened per second through the real API, against bare start + update.

    python bench/intake.py [--tickets 500] [--concurrency 32] [--no-service]

Phases, on one dev server, one worker process at a time, in this order:

1. baseline: `client.start_workflow` of `BareOpenWorkflow` + one update round trip (what
   `POST /tickets` does at the least), bare worker;
2. api: `POST /tickets` against uvicorn serving `create_app(settings)`; each answer comes
   after the ticket's snapshot update, so its terms are pinned (real worker, real activities);
3. service (unless --no-service): `tickets_service.open_ticket` called directly, the same
   path without HTTP, to split the API's share from the workflow's.

Every slaflow ticket also pages its agent tier on opening (one email and one Slack post in the
background); `notified_after_s` says when the last of those arrived.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import httpx
from harness import (
    Proc,
    Stack,
    agreement_doc,
    api_process,
    cpu_seconds,
    dev_server,
    header,
    latency_ms,
    log,
    open_tickets,
    own_cpu_seconds,
    ratio,
    run_bounded,
    run_main,
    slaflow_stack,
    start_bare_open,
    ticket_body,
    wait_for,
    worker_process,
)

from starter.temporal_client import connect

WARMUP = 10


class Meter:
    """CPU seconds used by each process over a phase."""

    def __init__(self, procs: dict[str, int | None]) -> None:
        self.procs = {k: v for k, v in procs.items() if v is not None}
        self.began = {name: cpu_seconds(pid) for name, pid in self.procs.items()}
        self.own = own_cpu_seconds()

    def used(self, count: int) -> dict[str, Any]:
        used = {name: cpu_seconds(pid) - self.began[name] for name, pid in self.procs.items()}
        used["bench_process"] = own_cpu_seconds() - self.own
        return {
            "cpu_s": {k: round(v, 2) for k, v in used.items()},
            "cpu_ms_per_item": {k: round(1000 * v / count, 2) for k, v in used.items()},
        }


def phase_result(
    count: int, wall: float, durations: list[float], errors: list[str], meter: Meter
) -> dict[str, Any]:
    return {
        "count": count,
        "ok": len(durations),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_s": round(wall, 3),
        "throughput_per_s": round(len(durations) / wall, 2) if wall else None,
        "latency_ms": latency_ms(durations),
        **meter.used(count),
    }


async def baseline(stack: Stack, server_pid: int | None, args: argparse.Namespace) -> dict:
    client = await connect(stack.settings)
    queue = stack.settings.task_queue
    run = uuid.uuid4().hex[:8]
    async with worker_process("bare", stack) as worker:
        warm = [f"bare-warm-{run}-{i}" for i in range(WARMUP)]
        await start_bare_open(client, queue, warm, concurrency=args.concurrency)
        log(f"baseline: {args.tickets} bare start + update, concurrency {args.concurrency}")
        meter = Meter({"worker": worker.pid, "dev_server": server_pid})
        ids = [f"bare-intake-{run}-{i}" for i in range(args.tickets)]
        wall, durations, errors = await start_bare_open(
            client, queue, ids, concurrency=args.concurrency
        )
        result = phase_result(args.tickets, wall, durations, errors, meter)
        result["worker_rss_kib"] = worker.rss_kib()
    log(f"baseline: {result['throughput_per_s']}/s, p50 {result['latency_ms'].get('p50')} ms")
    return result


async def via_api(
    stack: Stack, server_pid: int | None, worker: Proc, args: argparse.Namespace, run: str
) -> dict:
    statuses: dict[int, int] = {}
    async with (
        api_process(stack) as (api, url),
        httpx.AsyncClient(
            base_url=url,
            headers=stack.api_headers,
            timeout=60,
            limits=httpx.Limits(max_connections=args.concurrency),
        ) as http,
    ):

        async def one(i: int) -> None:
            response = await http.post("/tickets", json=ticket_body(f"A{run}-{i}"))
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        mails, posts = stack.mail_count(), stack.slack_count("agents")
        await run_bounded(WARMUP, args.concurrency, lambda i: one(100_000 + i))
        await wait_notified_from(stack, mails, posts, WARMUP, time.monotonic())
        statuses.clear()
        log(f"api: {args.tickets} POST /tickets, concurrency {args.concurrency}")
        mails, posts = stack.mail_count(), stack.slack_count("agents")
        meter = Meter({"worker": worker.pid, "api": api.pid, "dev_server": server_pid})
        began = time.monotonic()
        wall, durations, errors = await run_bounded(args.tickets, args.concurrency, one)
        result = phase_result(args.tickets, wall, durations, errors, meter)
        result["statuses"] = statuses
        notified = await wait_notified_from(stack, mails, posts, len(durations), began)
        result["notified_after_s"] = notified
        result["cpu_incl_notifications"] = meter.used(args.tickets)["cpu_ms_per_item"]
        result["api_rss_kib"] = api.rss_kib()
    log(f"api: {result['throughput_per_s']}/s, p50 {result['latency_ms'].get('p50')} ms")
    return result


async def wait_notified_from(
    stack: Stack, mails: int, posts: int, tickets: int, began: float
) -> float | None:
    """Seconds from `began` until `tickets` more pages (beyond the counts given) reached
    the mailbox and the agents' Slack channel."""
    try:
        await wait_for(
            lambda: (
                stack.mail_count() - mails >= tickets
                and stack.slack_count("agents") - posts >= tickets
            ),
            within=300,
            what=f"{tickets} intake notifications",
            every=0.1,
        )
    except TimeoutError as exc:
        log(str(exc))
        return None
    return round(time.monotonic() - began, 2)


async def via_service(
    stack: Stack, server_pid: int | None, worker: Proc, args: argparse.Namespace, run: str
) -> dict:
    client = await connect(stack.settings)
    log(f"service: {args.tickets} tickets_service.open_ticket, concurrency {args.concurrency}")
    mails, posts = stack.mail_count(), stack.slack_count("agents")
    meter = Meter({"worker": worker.pid, "dev_server": server_pid})
    began = time.monotonic()
    ids = [f"S{run}-{i}" for i in range(args.tickets)]
    wall, durations, errors = await open_tickets(
        client, stack.settings.task_queue, ids, concurrency=args.concurrency
    )
    result = phase_result(args.tickets, wall, durations, errors, meter)
    result["notified_after_s"] = await wait_notified_from(
        stack, mails, posts, len(durations), began
    )
    result["cpu_incl_notifications"] = meter.used(args.tickets)["cpu_ms_per_item"]
    log(f"service: {result['throughput_per_s']}/s, p50 {result['latency_ms'].get('p50')} ms")
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("intake", args)
    run = uuid.uuid4().hex[:6]
    async with dev_server() as (env, server_pid):
        address = env.client.service_client.config.target_host
        with slaflow_stack(address, agreement_doc()) as stack:
            base = await baseline(stack.with_task_queue("bare"), server_pid, args)
            slaflow = stack.with_task_queue("slaflow")
            async with worker_process("slaflow", slaflow) as worker:
                api = await via_api(slaflow, server_pid, worker, args, run)
                service = (
                    None
                    if args.no_service
                    else await via_service(slaflow, server_pid, worker, args, run)
                )
                worker_rss = worker.rss_kib()
    api["worker_rss_kib"] = worker_rss
    document["baseline"] = base
    document["slaflow_api"] = api
    if service is not None:
        document["slaflow_service"] = service

    def ratios(phase: dict[str, Any]) -> dict[str, float | None]:
        return {
            "throughput": ratio(phase["throughput_per_s"], base["throughput_per_s"]),
            "latency_p50": ratio(phase["latency_ms"].get("p50"), base["latency_ms"].get("p50")),
            "latency_p99": ratio(phase["latency_ms"].get("p99"), base["latency_ms"].get("p99")),
        }

    document["ratios_vs_baseline"] = {"api": ratios(api)}
    if service is not None:
        document["ratios_vs_baseline"]["service"] = ratios(service)
    document["summary"] = {
        "baseline_per_s": base["throughput_per_s"],
        "api_per_s": api["throughput_per_s"],
        "api_throughput_ratio": document["ratios_vs_baseline"]["api"]["throughput"],
        "api_p50_ms": api["latency_ms"].get("p50"),
        "api_p99_ms": api["latency_ms"].get("p99"),
        "baseline_p50_ms": base["latency_ms"].get("p50"),
        "baseline_p99_ms": base["latency_ms"].get("p99"),
    }
    return document


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=500, help="tickets (and bare workflows)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--no-service", action="store_true", help="skip the direct tickets_service phase"
    )
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse_args())
