"""`slaflow worker` and `slaflow api` as real processes: JSON logs, migrations at start, metrics
endpoints, readiness, and a clean exit on SIGTERM that lets a delivery in flight finish."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from activities import schema
from slaflow.settings import Settings
from slaflow.tickets import TicketInput, workflow_id_for
from slaflow.tiers import Channel, Priority
from starter.tickets_service import open_ticket
from tests.api_support import TOKENS
from tests.factories import DEFAULT_SELECTION
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

STOP_WITHIN = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _environment(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLAFLOW_")}
    env.update(
        {
            "SLAFLOW_DATA_DIR": str(tmp_path),
            "SLAFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "SLAFLOW_AGREEMENT_FILE": str(settings.agreement_file),
            "SLAFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
            "SLAFLOW_TASK_QUEUE": f"processes-{uuid.uuid4()}",
            "SLAFLOW_SMTP_HOST": settings.smtp_host,
            "SLAFLOW_SMTP_PORT": str(settings.smtp_port),
            "SLAFLOW_SLACK_BASE_URL": settings.slack_base_url,
            "SLAFLOW_LOG_FORMAT": "json",
            "SLAFLOW_METRICS_HOST": "127.0.0.1",
            "SLAFLOW_GRACEFUL_SHUTDOWN_SECONDS": "5",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


async def _spawn(env: dict[str, str], *args: str, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter.cli",
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )


def _json_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def _terminate(process: asyncio.subprocess.Process) -> tuple[int, float]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(process.wait(), timeout=STOP_WITHIN)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"no exit within {STOP_WITHIN:g}s of SIGTERM") from None
    return code, time.monotonic() - started


async def test_worker_process_migrates_logs_json_serves_metrics_and_stops_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    ours, sdk = _free_port(), _free_port()
    env = _environment(
        settings,
        tmp_path,
        SLAFLOW_WORKER_METRICS_PORT=str(ours),
        SLAFLOW_TEMPORAL_METRICS_PORT=str(sdk),
    )
    log = tmp_path / "worker.log"
    process = await _spawn(env, "worker", log=log)
    try:

        async def polling() -> bool:
            return any(line["message"].startswith("worker polling") for line in _json_lines(log))

        await eventually(polling, within=60, what="the worker polling")
        async with httpx.AsyncClient(timeout=5) as http:
            assert (
                "slaflow_escalations_total"
                in (await http.get(f"http://127.0.0.1:{ours}/metrics")).text
            )
            assert "temporal_" in (await http.get(f"http://127.0.0.1:{sdk}/metrics")).text
        code, took = await _terminate(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, log.read_text()
    assert took < STOP_WITHIN
    messages = [line["message"] for line in _json_lines(log)]
    assert "worker stopping: finishing running activities" in messages
    assert messages[-1] == "worker stopped"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in _json_lines(log))

    from activities.db import make_engine

    engine = make_engine(env["SLAFLOW_DATABASE_URL"])
    try:
        assert schema.current_revision(engine) == schema.head_revision()  # migrated at start
    finally:
        engine.dispose()


async def test_api_process_answers_ready_and_stops_on_sigterm(
    settings: Settings, tmp_path: Path
) -> None:
    port = _free_port()
    token = TOKENS[next(iter(TOKENS))]
    env = _environment(
        settings,
        tmp_path,
        SLAFLOW_API_PORT=str(port),
        SLAFLOW_API_TOKENS=json.dumps({token: next(iter(TOKENS)).value}),
    )
    log = tmp_path / "api.log"
    process = await _spawn(env, "api", log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def ready() -> dict[str, Any] | None:
                try:
                    answer = await http.get("/readyz")
                except httpx.TransportError:
                    return None
                return answer.json() if answer.status_code == 200 else None

            body = await eventually(ready, within=60, what="the API ready")
            assert body["checks"] == {
                "temporal": "ok",
                "search_attributes": "ok",
                "database": "ok",
                "schema": "ok",
            }
            assert (await http.get("/healthz")).status_code == 200
        code, _took = await _terminate(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # uvicorn finishes in-flight requests and the lifespan, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM), log.read_text()
    access = [line for line in _json_lines(log) if line["logger"] == "slaflow.api.access"]
    assert {(line["route"], line["status"]) for line in access} >= {
        ("/readyz", 200),
        ("/healthz", 200),
    }
    messages = [line["message"] for line in _json_lines(log)]
    assert "Application shutdown complete." in messages
    assert not [line for line in _json_lines(log) if line["logger"].startswith("alembic")]
    assert "database upgraded from empty to " + schema.head_revision() in messages


async def test_without_auto_migrate_the_worker_refuses_an_empty_database(
    settings: Settings, tmp_path: Path
) -> None:
    env = _environment(
        settings, tmp_path, SLAFLOW_DB_AUTO_MIGRATE="false", SLAFLOW_WORKER_METRICS_PORT="0"
    )
    env["SLAFLOW_TEMPORAL_METRICS_PORT"] = "0"
    log = tmp_path / "worker.log"
    process = await _spawn(env, "worker", log=log)
    code = await asyncio.wait_for(process.wait(), timeout=60)
    assert code == 1
    [refusal] = [line for line in _json_lines(log) if line["level"] == "ERROR"]
    assert refusal["message"] == (
        f"the database has no slaflow schema (expected revision {schema.head_revision()}): "
        "run `slaflow db upgrade`"
    )


class _SlowHandler:
    """An SMTP server that takes `seconds` to accept each message: a delivery in flight."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.accepted: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started.set()
        await asyncio.sleep(self.seconds)
        self.accepted.append(str(envelope.rcpt_tos))
        return "250 OK"


async def test_sigterm_lets_a_delivery_in_flight_finish(
    settings: Settings, temporal: Client, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    handler = _SlowHandler(seconds=3)
    smtp = Controller(handler, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    env = _environment(
        settings,
        tmp_path,
        SLAFLOW_SMTP_HOST="127.0.0.1",
        SLAFLOW_SMTP_PORT=str(smtp.port),
        SLAFLOW_WORKER_METRICS_PORT="0",
        SLAFLOW_TEMPORAL_METRICS_PORT="0",
    )
    log = tmp_path / "worker.log"
    process = await _spawn(env, "worker", log=log)
    ticket_id = f"SIG-{uuid.uuid4().hex[:8]}"
    try:

        async def polling() -> bool:
            return any(line["message"].startswith("worker polling") for line in _json_lines(log))

        await eventually(polling, within=60, what="the worker polling")
        await open_ticket(
            temporal,
            env["SLAFLOW_TASK_QUEUE"],
            TicketInput(
                ticket_id=ticket_id,
                customer="Shutdown Ltd",
                subject="Mail in flight",
                priority=Priority.P1,
                channel=Channel.PHONE,
                requester_email="ops@shutdown.example",
            ),
            DEFAULT_SELECTION,
        )

        async def sending() -> bool:
            return handler.started.is_set()

        await eventually(sending, within=30, what="the new-ticket email in flight")
        code, took = await _terminate(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        smtp.stop()
    assert code == 0, log.read_text()
    assert took >= 1.0, "the worker must wait for the delivery, not drop it"
    assert len(handler.accepted) == 1, "the mail in flight was accepted once"
    handle = temporal.get_workflow_handle(workflow_id_for(ticket_id))
    history = await handle.fetch_history()
    scheduled = {
        event.event_id
        for event in history.events
        if event.activity_task_scheduled_event_attributes.activity_type.name == "send_email"
    }
    completed = {
        event.activity_task_completed_event_attributes.scheduled_event_id
        for event in history.events
        if event.HasField("activity_task_completed_event_attributes")
    }
    assert scheduled and scheduled <= completed, "the email's completion reached Temporal"
    await handle.terminate("test over")
