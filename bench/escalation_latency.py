"""Escalation latency: N tickets whose first escalation falls due at the same instant; how
long from that instant until the email is in the mailbox and the post is in Slack.

    python bench/escalation_latency.py [--tickets 200] [--lead-seconds auto] [--background 0]

`--background N` first opens N more tickets (P4, whose clocks run for hours) that stay open and
quiet through the burst, and as many week-long bare workflows for the baseline, to measure the
burst under that load (the issue's figure: 10,000 open, 1,000 breaching at once).

The deadline is each ticket's first-response breach, which escalates agent -> team lead.
The breach is anchored to the ticket's `opened_at`, which the intake system supplies, so N
tickets opened with the same `opened_at` share their deadline to the microsecond. (An
acknowledgement window counts from each page's own moment, so it cannot be lined up; the
benchmark agreement gives the agent a window of hours so the breach comes first, and has no
pre-breach warnings.) Arrival times are the stand-ins' own: the Mailbox names each stored
message by its arrival in ns, the Slack stand-in's message `ts` is its arrival time.

Baseline, first, on the same dev server: N `BareDeadlineWorkflow`s whose timer ends at one
instant and then run one no-op activity; latency = activity start - due time.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from baseline_workflows import BareDeadlineWorkflow
from harness import (
    Stack,
    agreement_doc,
    check_errors,
    dev_server,
    header,
    latency_ms,
    log,
    open_tickets,
    ratio,
    run_bounded,
    run_main,
    slaflow_stack,
    start_bare_open,
    wait_for,
    worker_process,
)

from starter.temporal_client import connect

WARMUP = 5


def auto_lead(args: argparse.Namespace) -> float:
    """Time to open every ticket (at a pessimistic 8/s) and let their pages drain first."""
    return args.lead_seconds or round(10 + args.tickets * 0.12)


async def baseline(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    client = await connect(stack.settings)
    queue = stack.settings.task_queue
    run = uuid.uuid4().hex[:6]
    lead = args.baseline_lead_seconds or round(5 + args.tickets * 0.02)
    async with worker_process("bare", stack) as worker:
        if args.background:
            ids = [f"bare-bg-{run}-{i}" for i in range(args.background)]
            wall, _, errors = await start_bare_open(client, queue, ids, concurrency=64)
            check_errors("bare background", errors)
            log(f"baseline: {args.background} background workflows open in {wall:.1f}s")
        warm = [
            await client.start_workflow(
                BareDeadlineWorkflow.run, time.time(), id=f"bare-warm-{run}-{i}", task_queue=queue
            )
            for i in range(WARMUP)
        ]
        for handle in warm:
            await handle.result()
        due = time.time() + lead
        log(f"baseline: {args.tickets} bare timers due in {lead}s, then one no-op activity")
        handles: list[Any] = [None] * args.tickets

        async def start(i: int) -> None:
            handles[i] = await client.start_workflow(
                BareDeadlineWorkflow.run, due, id=f"bare-due-{run}-{i}", task_queue=queue
            )

        _, _, errors = await run_bounded(args.tickets, args.concurrency, start)
        check_errors("bare starts", errors)
        margin = due - time.time()
        if margin < 1:
            raise RuntimeError(f"bare workflows started too late ({margin:.1f}s before due)")
        cpu_before = worker.cpu_seconds()
        started = [await h.result() for h in handles]
        cpu = worker.cpu_seconds() - cpu_before
    latencies = [s - due for s in started]
    result = {
        "workflows": args.tickets,
        "background_open": args.background,
        "lead_s": lead,
        "started_before_due_s": round(margin, 2),
        "activity_start_latency_ms": latency_ms(latencies),
        "drained_after_s": round(max(latencies), 3),
        "worker_cpu_s": round(cpu, 2),
    }
    log(f"baseline: {result['activity_start_latency_ms']}")
    return result


class MailIndex:
    """The mailbox's messages by (ticket, notice kind), each file read once."""

    def __init__(self, stack: Stack) -> None:
        self.directory = stack.mailbox.directory
        self.parser = email.parser.BytesHeaderParser()
        self.seen: set[str] = set()
        self.arrivals: dict[tuple[str, str], float] = {}

    def escalations(self, pattern: re.Pattern[str]) -> dict[str, float]:
        """Ticket id -> arrival time (epoch s) of its first escalation email."""
        for path in self.directory.glob("*.eml"):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            with path.open("rb") as file:
                headers = self.parser.parse(file, headersonly=True)
            key = (str(headers.get("X-Slaflow-Ticket", "")), str(headers.get("X-Slaflow-Notice")))
            arrived = int(path.name.split("-", 1)[0]) / 1e9
            self.arrivals[key] = min(arrived, self.arrivals.get(key, arrived))
        return {
            ticket: arrived
            for (ticket, notice), arrived in self.arrivals.items()
            if notice == "escalation" and pattern.fullmatch(ticket)
        }


def escalation_posts(stack: Stack, pattern: re.Pattern[str]) -> dict[str, dict[str, float]]:
    """Ticket id -> arrival (epoch s) of the team lead's thread root in #leads ("page") and of
    the line in the agent's thread in #agents ("inform")."""
    found: dict[str, dict[str, float]] = {"page": {}, "inform": {}}
    with stack.slack.state.lock:
        messages = list(stack.slack.state.messages)
    for m in messages:
        if "Escalated" not in m.text:
            continue
        match = pattern.search(m.text)
        if match is None:
            continue
        if m.channel_name == "leads" and not m.thread_ts:
            found["page"][match[0]] = float(m.ts)
        elif m.channel_name == "agents" and m.thread_ts:
            found["inform"][match[0]] = float(m.ts)
    return found


async def slaflow(stack: Stack, args: argparse.Namespace, lead: float) -> dict[str, Any]:
    client = await connect(stack.settings)
    queue = stack.settings.task_queue
    run = uuid.uuid4().hex[:6]
    async with worker_process("slaflow", stack) as worker:
        if args.background:
            ids = [f"B{run}-{i}" for i in range(args.background)]
            wall, _, errors = await open_tickets(
                client, queue, ids, concurrency=args.concurrency, priorities=("P4",)
            )
            check_errors("background tickets", errors)
            log(f"slaflow: {args.background} background tickets open in {wall:.1f}s")
            # Their intake pages are drained first, so the burst measures escalation alone.
            await wait_for(
                lambda: stack.slack_count("agents") >= args.background,
                within=600,
                what="background intake pages",
                every=0.5,
                alive=[worker],
            )
        # Warm-up tickets opened long ago breach at once: the escalation path runs once.
        warm_ids = [f"W{run}-{i}" for i in range(WARMUP)]
        _, _, errors = await open_tickets(
            client, queue, warm_ids, opened_at=datetime.fromtimestamp(time.time() - 2 * lead, UTC)
        )
        check_errors("warm-up", errors)
        warm_pattern = re.compile(rf"W{run}-\d+")
        mail = MailIndex(stack)
        await wait_for(
            lambda: (
                len(escalation_posts(stack, warm_pattern)["inform"]) >= WARMUP
                and len(mail.escalations(warm_pattern)) >= WARMUP
            ),
            within=120,
            what="warm-up escalations",
            alive=[worker],
        )
        opened = time.time()
        deadline = opened + lead
        log(f"slaflow: {args.tickets} tickets, first-response breach due in {lead:g}s")
        ids = [f"E{run}-{i}" for i in range(args.tickets)]
        pages_before = stack.slack_count("agents")
        wall, _, errors = await open_tickets(
            client,
            queue,
            ids,
            concurrency=args.concurrency,
            opened_at=datetime.fromtimestamp(opened, UTC),
        )
        check_errors("tickets", errors)
        margin = deadline - time.time()
        if margin < 2:
            raise RuntimeError(
                f"opening {args.tickets} tickets took {wall:.1f}s, leaving {margin:.1f}s before "
                "their deadline; raise --lead-seconds"
            )
        try:
            await wait_for(
                lambda: stack.slack_count("agents") - pages_before >= args.tickets,
                within=max(0.0, deadline - time.time() - 0.5),
                what="intake pages before the deadline",
                every=0.2,
                alive=[worker],
            )
            pages_drained = True
        except TimeoutError:
            pages_drained = False
        log(f"slaflow: opened in {wall:.1f}s; waiting for the deadline ({margin:.1f}s)")
        cpu_before = worker.cpu_seconds()
        pattern = re.compile(rf"E{run}-\d+")
        await asyncio.sleep(max(0.0, deadline - time.time()))
        await wait_for(
            lambda: (
                len(mail.escalations(pattern)) >= args.tickets
                and len(escalation_posts(stack, pattern)["inform"]) >= args.tickets
            ),
            within=120 + args.tickets * 0.5,
            what=f"{args.tickets} escalations",
            every=0.25,
            alive=[worker],
        )
        cpu = worker.cpu_seconds() - cpu_before
    mails = mail.escalations(pattern)
    posts = escalation_posts(stack, pattern)
    both = [max(mails[t], posts["page"][t]) - deadline for t in ids]
    result = {
        "tickets": args.tickets,
        "background_open": args.background,
        "lead_s": lead,
        "open_wall_s": round(wall, 2),
        "opened_before_deadline_s": round(margin, 2),
        "intake_pages_drained_before_deadline": pages_drained,
        "email_latency_ms": latency_ms([mails[t] - deadline for t in ids]),
        "slack_page_latency_ms": latency_ms([posts["page"][t] - deadline for t in ids]),
        "slack_inform_latency_ms": latency_ms([posts["inform"][t] - deadline for t in ids]),
        "email_and_slack_latency_ms": latency_ms(both),
        "drained_after_s": round(max(both), 3),
        "worker_cpu_s": round(cpu, 2),
    }
    log(f"slaflow: email {result['email_latency_ms']}")
    log(f"slaflow: slack {result['slack_page_latency_ms']}")
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("escalation_latency", args)
    lead = auto_lead(args)
    agreement = agreement_doc(first_response=f"{lead:g}s", resolution="3d", ack_window="4h")
    agreement["objectives"]["P4"]["first_response"]["within"] = "8h"  # the background's
    async with dev_server() as (env, _):
        address = env.client.service_client.config.target_host
        with slaflow_stack(address, agreement) as stack:
            base = await baseline(stack.with_task_queue("bare"), args)
            ours = await slaflow(stack.with_task_queue("slaflow"), args, lead)
    document["baseline"] = base
    document["slaflow"] = ours
    b = base["activity_start_latency_ms"]
    document["ratios_vs_baseline"] = {
        name: {
            "p50": ratio(ours[key].get("p50"), b.get("p50")),
            "p99": ratio(ours[key].get("p99"), b.get("p99")),
        }
        for name, key in (
            ("email", "email_latency_ms"),
            ("slack", "slack_page_latency_ms"),
            ("email_and_slack", "email_and_slack_latency_ms"),
        )
    }
    document["ratios_vs_baseline"]["drain"] = ratio(
        ours["drained_after_s"], base["drained_after_s"]
    )
    document["summary"] = {
        "tickets": args.tickets,
        "background_open": args.background,
        "email_p50_ms": ours["email_latency_ms"].get("p50"),
        "email_p99_ms": ours["email_latency_ms"].get("p99"),
        "slack_p50_ms": ours["slack_page_latency_ms"].get("p50"),
        "slack_p99_ms": ours["slack_page_latency_ms"].get("p99"),
        "all_notified_after_s": ours["drained_after_s"],
        "baseline_p50_ms": b.get("p50"),
        "baseline_p99_ms": b.get("p99"),
        "baseline_all_started_after_s": base["drained_after_s"],
    }
    return document


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=200, help="tickets (and bare timers)")
    parser.add_argument("--concurrency", type=int, default=32, help="opens in flight")
    parser.add_argument(
        "--lead-seconds",
        type=float,
        default=0,
        help="first-response target = time from opening to the shared deadline "
        "(default: 10 + 0.12 s per ticket)",
    )
    parser.add_argument(
        "--background",
        type=int,
        default=0,
        help="tickets (and bare workflows) kept open and quiet during the burst",
    )
    parser.add_argument(
        "--baseline-lead-seconds",
        type=float,
        default=0,
        help="time from the first bare start to the shared due time (default: 5 + 0.02 s each)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse_args())
