"""Reports on 100,000 closed tickets: `/reports/sla` per group_by and the CLI, against a bare
read of the same table in the same run.

    python bench/report_queries.py [--tickets 100000] [--weeks 26] [--repeat 5]
                                   [--postgres-url URL | --no-postgres]

For each database (SQLite in a temp dir; PostgreSQL in a schema of its own, dropped after, when
it is reachable), in this order:

1. the schema at head (migrations, as the API does at start) and agreement version 1;
2. N ticket facts seeded with a fixed seed over `--weeks` weeks ending now: every priority,
   channel, 50 customers, some breached, escalated, reopened and paused, all closed;
3. baselines: `SELECT count(*)` of the period, and a fetch of every column of every row of
   the period (plain SQLAlchemy Core, no report code);
4. `GET /reports/sla?from=&to=&group_by=...` for each group_by, from a uvicorn API process
   over HTTP (manager token), `--repeat` times each; the first answer's group count and
   ticket total are checked against N; then by priority for the last 4 weeks only (the
   index on opened_at picks about 4/26 of the rows);
5. the CLI path: `slaflow report sla --json` as a new process (interpreter start and imports
   included), and `reports_service.sla` called in this process (no HTTP, no start-up).

Figures are wall-clock seconds: min and median of the repeats. One JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random  # noqa: TID251  (a benchmark's seeded data, not workflow code)
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import REPO_DIR, free_port, header, log, machine_info, run_main
from sqlalchemy import Engine, Table, func, select, text

from activities.db import make_engine
from activities.tables import TicketFactRow, tier_ack_column
from slaflow.reports import GroupBy
from slaflow.settings import DEFAULT_AGREEMENT_FILE, Settings
from slaflow.tiers import TIER_ORDER, Channel, Priority, Tier
from starter import reports_service
from starter.api.deps import prepare_database

TABLE: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
TOKEN = "bench-manager-token"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {"P1": (900, 4 * 3600), "P2": (1800, 8 * 3600), "P3": (3600, 24 * 3600)}
TARGETS["P4"] = (4 * 3600, 72 * 3600)


def fact_values(n: int, weeks: int, end: datetime, seed: int = 6) -> Iterator[dict[str, Any]]:
    """N closed tickets opened over `weeks` weeks before `end`, drawn with a fixed seed."""
    rng = random.Random(seed)
    span = weeks * 7 * 24 * 3600
    customers = [f"Customer {i:02d}" for i in range(50)]
    now = datetime.now(UTC)
    for i in range(n):
        priority = rng.choice(list(Priority))
        first_target, resolve_target = TARGETS[priority.value]
        opened = end - timedelta(seconds=rng.uniform(1, span))
        ack = rng.expovariate(1 / (first_target / 3))
        response = ack + rng.expovariate(1 / (first_target / 4))
        resolve = response + rng.expovariate(1 / (resolve_target / 2))
        rank = min(int(rng.expovariate(2.5)), 3)
        tier = TIER_ORDER[rank]
        pauses = rng.choice((0, 0, 0, 0, 1, 1, 2, 3))
        paused = rng.uniform(0, resolve) if pauses else 0.0
        acks = {t: rng.expovariate(1 / 600) for t in TIER_ORDER[: rank + 1]}
        yield {
            "ticket_id": f"B-{i:06d}",
            "customer": rng.choice(customers),
            "priority": priority.value,
            "channel": rng.choice(list(Channel)).value,
            "agreement_version": 1,
            "opened_at": opened,
            "acknowledged_at": opened + timedelta(seconds=ack),
            "first_response_at": opened + timedelta(seconds=response),
            "resolved_at": opened + timedelta(seconds=resolve),
            "closed_at": opened + timedelta(seconds=resolve) + timedelta(days=7),
            "first_response_target_seconds": float(first_target),
            "resolution_target_seconds": float(resolve_target),
            "first_response_breached": response > first_target,
            "resolution_breached": resolve - paused > resolve_target,
            "highest_tier": tier.value,
            "resolved_tier": tier.value,
            "escalations": rank,
            "reopen_count": 1 if rng.random() < 0.05 else 0,
            "status": "closed",
            "updated_at": now,
            "paused_seconds": paused,
            "pauses": pauses,
            "repause_gaps_seconds": [rng.uniform(0, 3600) for _ in range(max(pauses - 1, 0))],
            "first_response_seconds": response,
            "resolution_seconds": resolve - paused,
            **{tier_ack_column(t.value): acks.get(t) for t in Tier},
        }


def seed(engine: Engine, n: int, weeks: int, end: datetime) -> float:
    """Insert the facts in batches; returns the seconds it took."""
    began = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for values in fact_values(n, weeks, end):
            batch.append(values)
            if len(batch) == 5000:
                connection.execute(TABLE.insert(), batch)
                batch = []
        if batch:
            connection.execute(TABLE.insert(), batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE ticket_facts"))
    return time.perf_counter() - began


def timed(repeat: int, run: Callable[[], Any]) -> tuple[dict[str, float], Any]:
    """min and median wall-clock seconds of `repeat` runs, and the first run's answer."""
    times, first = [], None
    for i in range(repeat):
        began = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - began)
        if i == 0:
            first = answer
    return {"min_s": round(min(times), 4), "median_s": round(statistics.median(times), 4)}, first


@contextmanager
def api_server(env: dict[str, str]) -> Iterator[str]:
    """uvicorn serving create_app(Settings()) from the environment, like bench/api_proc.py."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO_DIR / "bench" / "api_proc.py"), str(port)],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"the API did not start: {error[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(engine: Engine, url: str, args: argparse.Namespace, end: datetime) -> dict[str, Any]:
    """Seed one database, then time the baselines, the API and the CLI paths on it."""
    settings = Settings(database_url=url, agreement_file=DEFAULT_AGREEMENT_FILE, _env_file=None)
    prepare_database(engine, settings)
    log(f"{engine.dialect.name}: seeding {args.tickets} facts")
    seed_s = seed(engine, args.tickets, args.weeks, end)
    start = end - timedelta(weeks=args.weeks)
    span = reports_service.period(start, end, days=1)
    where = (TABLE.c.opened_at >= start, TABLE.c.opened_at < end)

    def count() -> int:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).where(*where)).scalar_one())

    def fetch_all() -> int:
        with engine.connect() as connection:
            return len(connection.execute(select(TABLE).where(*where)).all())

    log(f"{engine.dialect.name}: baselines")
    result: dict[str, Any] = {"tickets": args.tickets, "seed_s": round(seed_s, 2)}
    result["baseline_count"], counted = timed(args.repeat, count)
    result["baseline_fetch_all_columns"], fetched = timed(args.repeat, fetch_all)
    if counted != args.tickets or fetched != args.tickets:
        raise RuntimeError(f"seeded {args.tickets}, counted {counted}, fetched {fetched}")

    env = {
        **os.environ,
        "SLAFLOW_DATABASE_URL": url,
        "SLAFLOW_API_TOKENS": json.dumps({TOKEN: "manager"}),
        "SLAFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "SLAFLOW_AGREEMENT_FILE": str(DEFAULT_AGREEMENT_FILE),
        "PYTHONPATH": str(REPO_DIR),
    }
    params = {"from": start.isoformat(), "to": end.isoformat()}
    api: dict[str, Any] = {}
    log(f"{engine.dialect.name}: GET /reports/sla per group_by")
    with api_server(env) as base, httpx.Client(base_url=base, timeout=300) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for group_by in GroupBy:

            def get(group_by: GroupBy = group_by) -> dict[str, Any]:
                answer = client.get(
                    "/reports/sla", params={**params, "group_by": group_by.value}, headers=headers
                )
                answer.raise_for_status()
                body: dict[str, Any] = answer.json()
                return body

            figures, body = timed(args.repeat, get)
            if body["totals"]["opened"] != args.tickets:
                raise RuntimeError(f"{group_by}: {body['totals']['opened']} tickets reported")
            api[group_by.value] = {**figures, "groups": len(body["groups"])}
        month = {"from": (end - timedelta(weeks=4)).isoformat(), "to": end.isoformat()}

        def last_weeks() -> int:
            answer = client.get("/reports/sla", params=month, headers=headers)
            answer.raise_for_status()
            return int(answer.json()["totals"]["opened"])

        figures, in_month = timed(args.repeat, last_weeks)
        result["api_reports_sla_last_4_weeks"] = {**figures, "tickets": in_month}
    result["api_reports_sla"] = api

    log(f"{engine.dialect.name}: the CLI and the service in process")
    command = [
        *(str(Path(sys.executable).with_name("slaflow")), "report", "sla", "--json"),
        *("--from", params["from"], "--to", params["to"], "--group-by", "priority"),
    ]

    def cli() -> int:
        done = subprocess.run(command, env=env, cwd=REPO_DIR, capture_output=True, check=True)
        return int(json.loads(done.stdout)["totals"]["opened"])

    result["cli_report_sla_process"], cli_total = timed(max(args.repeat // 2, 1), cli)
    if cli_total != args.tickets:
        raise RuntimeError(f"the CLI reported {cli_total} tickets")
    result["service_sla_in_process"], _ = timed(
        args.repeat, lambda: reports_service.sla(engine, span, GroupBy.PRIORITY)
    )
    result["service_load_rows_only"], _ = timed(
        args.repeat, lambda: len(reports_service.load_rows(engine, start, end))
    )
    median = result["api_reports_sla"]["priority"]["median_s"]
    result["ratio_api_priority_vs_fetch_all"] = round(
        median / result["baseline_fetch_all_columns"]["median_s"], 2
    )
    return result


def postgres_reachable(url: str) -> bool:
    try:
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception as exc:
        log(f"PostgreSQL at {url} not reachable ({type(exc).__name__}); skipped")
        return False


async def main(args: argparse.Namespace) -> dict[str, Any]:
    document = header("report_queries", args)
    document["machine"] = machine_info()
    end = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="slaflow-bench-reports-") as directory:
        url = f"sqlite:///{Path(directory) / 'slaflow.db'}"
        engine = make_engine(url)
        try:
            document["sqlite"] = await asyncio.to_thread(measure, engine, url, args, end)
        finally:
            engine.dispose()
    if args.postgres_url and postgres_reachable(args.postgres_url):
        schema = f"slaflow_bench_{uuid.uuid4().hex[:12]}"
        admin = make_engine(args.postgres_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in args.postgres_url else "?"
        url = f"{args.postgres_url}{separator}options=-csearch_path%3D{schema}"
        engine = make_engine(url)
        try:
            document["postgresql"] = await asyncio.to_thread(measure, engine, url, args, end)
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    document["summary"] = {
        db: {
            "tickets": figures["tickets"],
            "api_sla_median_s": {k: v["median_s"] for k, v in figures["api_reports_sla"].items()},
            "api_sla_last_4_weeks_median_s": figures["api_reports_sla_last_4_weeks"]["median_s"],
            "cli_process_median_s": figures["cli_report_sla_process"]["median_s"],
            "baseline_count_median_s": figures["baseline_count"]["median_s"],
            "baseline_fetch_all_median_s": figures["baseline_fetch_all_columns"]["median_s"],
        }
        for db, figures in document.items()
        if db in ("sqlite", "postgresql")
    }
    return document


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SLAFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="PostgreSQL to measure as well; skipped when unreachable.",
    )
    parser.add_argument("--no-postgres", dest="postgres_url", action="store_const", const="")
    return parser.parse_args()


if __name__ == "__main__":
    run_main(main, parse())
