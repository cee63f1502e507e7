"""What every benchmark shares: the dev server, stand-ins, worker/API processes, statistics.

Layout of a run (one machine, nothing remote):

* this process: the load generator, the Temporal dev server as its child (`start_local`,
  in-memory), the Mailbox (SMTP) and Slack stand-ins on their own threads;
* a worker process (`worker_proc.py slaflow` = `worker.build_worker`, or `worker_proc.py bare`
  = the baseline workflows with the same worker options), one at a time;
* for HTTP figures, an API process (`api_proc.py` = uvicorn serving `create_app(settings)`).

Figures are JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from baseline_workflows import BareOpenWorkflow
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from slaflow.agreement import Agreement
from slaflow.agreement_file import dump_agreement
from slaflow.api_tokens import new_token
from slaflow.customers import AgreementSelection
from slaflow.roles import Role
from slaflow.search_attributes import SEARCH_ATTRIBUTES
from slaflow.settings import Settings
from slaflow.tickets import TicketInput
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter import tickets_service

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret"
TEMPORAL_MODE = "temporal server start-dev via WorkflowEnvironment.start_local, in-memory"

T = TypeVar("T")
A = TypeVar("A")

BENCH_SELECTION = AgreementSelection(agreement_id="default", rule="default agreement (bench)")
"""Benchmarks that do not measure selection open every ticket under the default agreement."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(document: dict[str, Any]) -> None:
    """The benchmark's one JSON object, on stdout."""
    print(json.dumps(document, indent=2, default=str), flush=True)


# ----- statistics ----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(p / 100 * len(sorted_values) + 0.4999999))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """n, mean, p50, p90, p99 and max of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(1000 * sum(values) / len(values), 2),
        "p50": round(1000 * percentile(values, 50), 2),
        "p90": round(1000 * percentile(values, 90), 2),
        "p99": round(1000 * percentile(values, 99), 2),
        "max": round(1000 * values[-1], 2),
    }


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, rounded; None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return round(value / baseline, 2)


async def run_bounded(
    count: int, concurrency: int, job: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float], list[str]]:
    """Run job(0..count-1), at most `concurrency` at a time. Returns the wall time, each
    successful job's duration and the errors (as text)."""
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []
    errors: list[str] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            try:
                await job(i)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            else:
                durations.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - began, durations, errors


async def wait_for(
    probe: Callable[[], bool],
    *,
    within: float,
    what: str,
    every: float = 0.05,
    alive: Sequence[Proc] = (),
) -> float:
    """Poll until `probe()` is true; returns the seconds it took. Raises after `within`, or at
    once when one of the `alive` processes has exited."""
    began = time.monotonic()
    while not probe():
        for proc in alive:
            if proc.process.returncode is not None:
                raise RuntimeError(
                    f"{proc.name} exited (code {proc.process.returncode}) while waiting for "
                    f"{what}:\n{proc.tail(40)}"
                )
        if time.monotonic() - began > within:
            raise TimeoutError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(every)
    return time.monotonic() - began


# ----- processes -----------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (psutil when installed, else /proc)."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {pid}") from None
    return int(psutil.Process(pid).memory_info().rss // 1024)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def dev_server_pid() -> int | None:
    """The `temporal` child that start_local spawned."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and comm.startswith("temporal"):
            return int(entry.name)
    return None


def temporal_binary() -> str:
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("no `temporal` CLI: install the project (.venv/bin/temporal)")
    return found


@contextlib.asynccontextmanager
async def dev_server() -> AsyncIterator[tuple[WorkflowEnvironment, int | None]]:
    """The dev server (in-memory) with slaflow's search attributes, and its pid."""
    log("starting the Temporal dev server (in-memory)")
    # The server prints a banner on the stdout it inherits; stdout is for the JSON only.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            data_converter=pydantic_data_converter,
            search_attributes=SEARCH_ATTRIBUTES,
            ip="127.0.0.1",
            dev_server_log_level="error",
        )
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    try:
        yield env, dev_server_pid()
    finally:
        await env.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proc:
    """A child Python process (worker or API) whose memory and CPU we read from /proc."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path
        self.stopping = False
        self._watcher: asyncio.Task[None] | None = None

    def watch(self) -> None:
        """From now on copy the process's stdout into its log (a pipe no one reads fills up
        and blocks the writer), and say at once, with its last lines, if it dies."""
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        assert self.process.stdout is not None
        with self.log_path.open("ab") as log_file:
            while line := await self.process.stdout.readline():
                log_file.write(line)
                log_file.flush()
        code = await self.process.wait()
        if not self.stopping:
            log(f"{self.name} (pid {self.pid}) exited unexpectedly, code {code}:\n{self.tail(40)}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    async def stop(self) -> None:
        self.stopping = True
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._watcher is not None:
            await self._watcher

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""


async def spawn(name: str, args: Sequence[str], env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=REPO_DIR,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    return Proc(name, process, log_path)


@contextlib.asynccontextmanager
async def worker_process(kind: str, stack: Stack) -> AsyncIterator[Proc]:
    """`worker_proc.py kind` on the stack's task queue, once it polls."""
    proc = await spawn(
        f"worker-{kind}", [str(BENCH_DIR / "worker_proc.py"), kind], stack.env(), stack.dir
    )
    try:
        assert proc.process.stdout is not None
        line = await asyncio.wait_for(proc.process.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"{kind} worker did not start:\n{proc.tail()}")
        proc.watch()
        log(f"{kind} worker polling (pid {proc.pid}, task queue {stack.settings.task_queue})")
        yield proc
    finally:
        await proc.stop()


@contextlib.asynccontextmanager
async def api_process(stack: Stack) -> AsyncIterator[tuple[Proc, str]]:
    """uvicorn serving `create_app(settings)` on a free port; yields it and its base URL."""
    port = free_port()
    proc = await spawn("api", [str(BENCH_DIR / "api_proc.py"), str(port)], stack.env(), stack.dir)
    url = f"http://127.0.0.1:{port}"
    proc.watch()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as http:

            async def probe() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get("/readyz")).status_code == 200
                return False

            began = time.monotonic()
            while not await probe():
                if proc.process.returncode is not None or time.monotonic() - began > 60:
                    raise RuntimeError(f"API did not become ready:\n{proc.tail()}")
                await asyncio.sleep(0.1)
        log(f"API ready at {url} (pid {proc.pid})")
        yield proc, url
    finally:
        await proc.stop()


# ----- the slaflow side: agreement, stand-ins, settings --------------------------------------


def contacts(tier: str, n: int) -> list[dict[str, str]]:
    return [
        {"name": f"{tier}-{i}", "email": f"{tier}{i}@example.com", "slack_user_id": f"U{tier}{i}"}
        for i in range(1, n + 1)
    ]


def agreement_doc(
    *, first_response: str = "8h", resolution: str = "3d", ack_window: str = "4h"
) -> dict[str, Any]:
    """Like tests/factories.py's agreement, all priorities on 24x7, with the clocks given.
    No pre-breach warnings, so the first thing a ticket does after its page is what the
    benchmark wants (an escalation, or nothing for a long time)."""
    tiers = [
        ("agent", "#agents", 2, "round_robin"),
        ("team_lead", "#leads", 1, "all"),
        ("specialist", "#specialists", 2, "all"),
        ("management", "#management", 2, "round_robin"),
    ]
    return {
        "name": "Benchmark agreement",
        "customer": "Bench",
        "availability_target": 99.9,
        "objectives": {
            p: {
                "first_response": {"within": first_response},
                "resolution": {"within": resolution},
            }
            for p in ("P1", "P2", "P3", "P4")
        },
        "channels": [{"channel": c} for c in ("phone", "email", "chat", "portal")],
        "escalation": {
            "tiers": [
                {
                    "tier": tier,
                    "contacts": contacts(tier.replace("_", ""), n),
                    "paging": paging,
                    "slack_channel": channel,
                    "ack_window": ack_window,
                }
                for tier, channel, n, paging in tiers
            ],
            "repeat_limit": 2,
            "reminder_every": "1d",
        },
        "reopen_window": "1h",
    }


@dataclass
class Stack:
    """A temp dir with the agreement, SQLite database and mailbox; the stand-ins; settings."""

    dir: Path
    mailbox: Mailbox
    slack: SlackStandin
    settings: Settings

    def env(self) -> dict[str, str]:
        """The settings as SLAFLOW_* variables for child processes."""
        s = self.settings
        return {
            "SLAFLOW_DATA_DIR": str(s.data_dir),
            "SLAFLOW_DATABASE_URL": s.resolved_database_url,
            "SLAFLOW_AGREEMENT_FILE": str(s.agreement_file),
            "SLAFLOW_TEMPORAL_ADDRESS": s.temporal_address,
            "SLAFLOW_TASK_QUEUE": s.task_queue,
            "SLAFLOW_SMTP_HOST": s.smtp_host,
            "SLAFLOW_SMTP_PORT": str(s.smtp_port),
            "SLAFLOW_SLACK_BASE_URL": s.slack_base_url,
            "SLAFLOW_SLACK_BOT_TOKEN": s.slack_bot_token.get_secret_value(),
            "SLAFLOW_SLACK_SIGNING_SECRET": s.slack_signing_secret.get_secret_value(),
            "SLAFLOW_MAX_CACHED_WORKFLOWS": str(s.max_cached_workflows),
            "SLAFLOW_GRACEFUL_SHUTDOWN_SECONDS": str(s.graceful_shutdown_seconds),
            "SLAFLOW_API_TOKENS": json.dumps({t: r.value for t, r in s.api_tokens.items()}),
        }

    @property
    def api_headers(self) -> dict[str, str]:
        """`Authorization` for the API process: the stack's agent token (from settings, so the
        API resolves it without a database look-up, as production's configured tokens)."""
        return {"Authorization": f"Bearer {next(iter(self.settings.api_tokens))}"}

    def with_task_queue(self, prefix: str) -> Stack:
        """The same stack on a fresh task queue (one per phase, so phases never mix)."""
        settings = self.settings.model_copy(update={"task_queue": f"{prefix}-{uuid.uuid4().hex}"})
        return Stack(self.dir, self.mailbox, self.slack, settings)

    def slack_count(self, channel_name: str | None = None) -> int:
        with self.slack.state.lock:
            return sum(
                1
                for m in self.slack.state.messages
                if channel_name is None or m.channel_name == channel_name
            )

    def mail_count(self) -> int:
        return sum(1 for _ in self.mailbox.directory.glob("*.eml"))


@contextlib.contextmanager
def slaflow_stack(
    temporal_address: str, agreement: dict[str, Any], *, max_cached_workflows: int = 1000
) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="slaflow-bench-") as tmp:
        directory = Path(tmp)
        agreement_file = directory / "agreement.yaml"
        agreement_file.write_text(dump_agreement(Agreement.model_validate(agreement)))
        with (
            Mailbox(directory / "mail", port=0) as mailbox,
            SlackStandin(SIGNING_SECRET, BOT_TOKEN, port=0) as slack,
        ):
            settings = Settings(
                data_dir=directory,
                database_url=f"sqlite:///{directory / 'slaflow.db'}",
                agreement_file=agreement_file,
                temporal_address=temporal_address,
                task_queue=f"bench-{uuid.uuid4().hex}",
                smtp_host="127.0.0.1",
                smtp_port=mailbox.port,
                slack_base_url=slack.base_url,
                slack_bot_token=SecretStr(BOT_TOKEN),
                slack_signing_secret=SecretStr(SIGNING_SECRET),
                max_cached_workflows=max_cached_workflows,
                graceful_shutdown_seconds=5,
                api_tokens={new_token(): Role.AGENT},  # opens tickets and reads them
            )
            yield Stack(directory, mailbox, slack, settings)


def ticket_body(ticket_id: str, priority: str = "P1", **extra: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "customer": f"Customer {int(ticket_id.rsplit('-', 1)[-1]) % 10}",
        "subject": "Checkout fails",
        "description": "HTTP 500 on payment",
        "priority": priority,
        "channel": "phone",
        "requester_email": "ops@customer.example",
        **extra,
    }


# ----- the report ----------------------------------------------------------------------------


def _command_output(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    meminfo = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            meminfo[key] = value.strip()
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    import temporalio.service

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_total": meminfo.get("MemTotal", ""),
        "memory_available": meminfo.get("MemAvailable", ""),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporal_cli": _command_output(temporal_binary(), "--version"),
        "temporalio_sdk": temporalio.service.__version__,
        # With this set and a stale or missing .pyc, the workflow sandbox compiles
        # workflows/ticket.py from source for every new workflow instance.
        "python_dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    }


def header(name: str, args: Any) -> dict[str, Any]:
    """The common top of every benchmark's document."""
    return {
        "benchmark": name,
        "parameters": vars(args),
        "temporal": TEMPORAL_MODE,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg_at_start": os.getloadavg(),
    }


# ----- populations ---------------------------------------------------------------------------


async def open_tickets(
    client: Client,
    task_queue: str,
    ids: Sequence[str],
    *,
    concurrency: int = 32,
    priorities: Sequence[str] = ("P1",),
    opened_at: datetime | None = None,
) -> tuple[float, list[float], list[str]]:
    """Open tickets through `tickets_service.open_ticket` (the API's own path, minus HTTP);
    each returns once its terms are pinned. Priorities cycle through `priorities`."""

    async def one(i: int) -> None:
        body = ticket_body(ids[i], priorities[i % len(priorities)])
        if opened_at is not None:
            body["opened_at"] = opened_at
        opened = await tickets_service.open_ticket(
            client, task_queue, TicketInput.model_validate(body), BENCH_SELECTION
        )
        if not opened.created:
            raise RuntimeError(f"{ids[i]} already existed")

    return await run_bounded(len(ids), concurrency, one)


async def start_bare_open(
    client: Client, task_queue: str, ids: Sequence[str], *, concurrency: int = 32
) -> tuple[float, list[float], list[str]]:
    """Start `BareOpenWorkflow`s sleeping a week, each confirmed by its `ready` update."""

    async def one(i: int) -> None:
        handle = await client.start_workflow(
            BareOpenWorkflow.run, 7 * 86400.0, id=ids[i], task_queue=task_queue
        )
        await handle.execute_update(BareOpenWorkflow.ready)

    return await run_bounded(len(ids), concurrency, one)


async def history_size(client: Client, workflow_id: str) -> dict[str, int]:
    """Events and bytes of one workflow's history so far."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return {
        "events": len(history.events),
        "bytes": sum(event.ByteSize() for event in history.events),
    }


def check_errors(what: str, errors: list[str]) -> None:
    if errors:
        raise RuntimeError(f"{what}: {len(errors)} failed, e.g. {errors[0]}")


def run_main(main: Callable[[A], Coroutine[Any, Any, dict[str, Any]]], args: A) -> None:
    """Run a benchmark, print its document and exit at once.

    `os._exit` because the Temporal SDK's runtime threads can abort a normal interpreter
    shutdown ("PyGILState_Release: thread state must be current"); everything that needs
    closing (dev server, processes, temp dirs) has been closed by then."""
    try:
        document = asyncio.run(main(args))
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    document["loadavg_at_end"] = os.getloadavg()
    emit(document)
    sys.stderr.flush()
    os._exit(0)
