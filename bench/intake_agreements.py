"""Intake with 100 agreements loaded against intake with one, in the same run.

    python bench/intake_agreements.py [--tickets 300] [--concurrency 16] [--rounds 2]

One dev server; two stacks (each its own database, worker and API process, one stack running at
a time): "one" holds only the default agreement, "hundred" the default and 99 customer
agreements, each with a rule on service and channel. Tickets of "one" name customers without an
agreement (the default applies); tickets of "hundred" are spread over the 99 customers and match
their rule, so every intake reads and matches that customer's rules. Rounds alternate one,
hundred, one, hundred, ... so drift of the machine hits both alike. Each phase is
`POST /tickets` answered after the ticket pinned its terms. Figures are JSON on stdout
(bench/results/intake_agreements.json); the claim is that "hundred" stays within 10 % of "one".
"""

from __future__ import annotations

import argparse
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from harness import (
    Stack,
    agreement_doc,
    api_process,
    dev_server,
    header,
    latency_ms,
    log,
    ratio,
    run_bounded,
    run_main,
    slaflow_stack,
    ticket_body,
    worker_process,
)

from activities import agreement_store
from activities.db import make_engine
from slaflow.agreement import Agreement
from slaflow.agreement_file import AgreementFile
from slaflow.customers import AgreementHeader

CUSTOMERS = 99
WARMUP = 20


def seed_customers(stack: Stack) -> None:
    """99 customer agreements beside the default, each for service 'Hosting' by phone."""
    engine = make_engine(stack.settings.resolved_database_url)
    doc = Agreement.model_validate(agreement_doc())
    try:
        for i in range(CUSTOMERS):
            header = AgreementHeader.model_validate(
                {
                    "id": f"c{i:03d}-gold",
                    "customer": {"id": f"c{i:03d}", "name": f"Customer {i:03d}"},
                    "rules": [{"services": ["Hosting"], "channels": ["phone"]}],
                }
            )
            file = AgreementFile(source=f"bench:{header.id}", header=header, agreement=doc)
            agreement_store.seed_file(engine, file)
        assert len(agreement_store.agreements(engine)) == CUSTOMERS + 1
    finally:
        engine.dispose()


@contextlib.asynccontextmanager
async def running(stack: Stack, concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        worker_process("slaflow", stack),
        api_process(stack) as (_, url),
        httpx.AsyncClient(
            base_url=url,
            headers=stack.api_headers,
            timeout=60,
            limits=httpx.Limits(max_connections=concurrency),
        ) as http,
    ):
        yield http


async def phase(
    http: httpx.AsyncClient, name: str, tickets: int, concurrency: int, many: bool
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    agreements: dict[str, int] = {}

    async def one(i: int) -> None:
        extra = {"customer": f"c{i % CUSTOMERS:03d}", "service": "Hosting"} if many else {}
        response = await http.post("/tickets", json=ticket_body(f"{name}{run}-{i}", **extra))
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        chosen = response.json()["agreement_id"]
        agreements[chosen] = agreements.get(chosen, 0) + 1

    await run_bounded(WARMUP, concurrency, lambda i: one(1_000_000 + i))
    agreements.clear()
    wall, durations, errors = await run_bounded(tickets, concurrency, one)
    latency = latency_ms(durations)
    result: dict[str, Any] = {
        "count": tickets,
        "ok": len(durations),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_s": round(wall, 3),
        "throughput_per_s": round(len(durations) / wall, 2) if wall else None,
        "latency_ms": latency,
        "agreements_chosen": len(agreements),
    }
    log(f"{name}: {result['throughput_per_s']}/s, p50 {latency.get('p50')} ms")
    return result


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 2) if known else None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("intake_agreements", args)
    rounds: list[dict[str, Any]] = []
    async with dev_server() as (env, _):
        address = env.client.service_client.config.target_host
        with (
            slaflow_stack(address, agreement_doc()) as one_stack,
            slaflow_stack(address, agreement_doc()) as many_stack,
        ):
            seeded = False
            for r in range(args.rounds):
                figures: dict[str, Any] = {}
                for name, stack, many in (("one", one_stack, False), ("hundred", many_stack, True)):
                    async with running(stack, args.concurrency) as http:
                        if many and not seeded:
                            seed_customers(stack)
                            seeded = True
                        log(f"round {r + 1}: {name}, {args.tickets} POST /tickets")
                        figures[name] = await phase(
                            http, name, args.tickets, args.concurrency, many
                        )
                rounds.append(figures)
    document["rounds"] = rounds
    one_tp = _mean([r["one"]["throughput_per_s"] for r in rounds])
    many_tp = _mean([r["hundred"]["throughput_per_s"] for r in rounds])
    one_p50 = _mean([r["one"]["latency_ms"].get("p50") for r in rounds])
    many_p50 = _mean([r["hundred"]["latency_ms"].get("p50") for r in rounds])
    throughput_ratio = ratio(many_tp, one_tp)
    document["summary"] = {
        "one_agreement_per_s": one_tp,
        "hundred_agreements_per_s": many_tp,
        "throughput_ratio": throughput_ratio,
        "one_agreement_p50_ms": one_p50,
        "hundred_agreements_p50_ms": many_p50,
        "p50_ratio": ratio(many_p50, one_p50),
        "within_10_percent": throughput_ratio is not None and throughput_ratio >= 0.9,
    }
    return document


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=2, help="one/hundred pairs")
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse_args())
