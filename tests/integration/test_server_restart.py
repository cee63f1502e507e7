"""The Temporal dev server stopped and started again (persistent SQLite) with open tickets on
every tier: every ticket continues after the restart, none is lost, none escalates twice.

A dev server of this test's own (`temporal server start-dev --db-filename`) on fixed ports, a
worker in this process, a Mailbox and a Slack stand-in. Four tickets are put on the four tiers
(three by manual escalation); every tier's acknowledgement window is ACK_WINDOW. The server is
then stopped for longer than that window, so every ticket's next step falls due while nothing
runs, and started again on the same file and port. Each ticket must then take exactly its next
step (agent -> team lead -> specialist -> management, and management is paged again), late by
no more than the downtime plus a few seconds, and each new tier gets its email once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.agreement_store import seed_agreements
from activities.db import create_tables, make_engine
from slaflow.agreement_file import dump_agreement
from slaflow.settings import Settings
from slaflow.tickets import Escalate, EventKind, TicketEvent, TicketInput, TicketView
from slaflow.tiers import Tier
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter.temporal_client import register_search_attributes
from starter.tickets_service import choose_agreement, get_ticket, open_ticket, run_command
from tests.conftest import binary
from tests.factories import agreement_doc, make_agreement
from tests.integration.conftest import eventually
from worker import build_worker

pytestmark = pytest.mark.integration

ACK_WINDOW = 6
"""Seconds each tier has to acknowledge (management: to be paged again)."""
DOWN_FOR = 9.0
"""Seconds the server is stopped: longer than ACK_WINDOW, so every next step falls due."""
SLACK_TOKEN = "xoxb-server-restart"
SECRET = "server-restart-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DevServer:
    """`temporal server start-dev` on a SQLite file that outlives the process."""

    def __init__(self, db_file: Path, log_file: Path) -> None:
        self.db_file = db_file
        self.log_file = log_file
        self.port = _free_port()
        self.ui_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        await asyncio.to_thread(self._spawn)
        await eventually(self._answers, within=30, what="the dev server to answer")

    def _spawn(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary("temporal"),
                    *("server", "start-dev", "--headless", "--ip", "127.0.0.1"),
                    *("--port", str(self.port), "--ui-port", str(self.ui_port)),
                    *("--db-filename", str(self.db_file), "--log-level", "warn"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def _answers(self) -> bool:
        try:
            await Client.connect(self.address)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[DevServer]:
    dev = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    await dev.start()
    yield dev
    dev.stop()


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[tuple[Mailbox, SlackStandin]]:
    with (
        Mailbox(tmp_path / "mail", port=0) as box,
        SlackStandin(SECRET, SLACK_TOKEN, port=0) as slack,
    ):
        yield box, slack


def _agreement_yaml(path: Path) -> Path:
    doc = agreement_doc(reopen_window="1h")
    for objective in doc["objectives"].values():  # only the ladder's windows fall due here
        objective["first_response"]["within"] = "2h"
        objective["resolution"]["within"] = "10h"
    for tier in doc["escalation"]["tiers"]:
        tier["ack_window"] = f"{ACK_WINDOW}s"
    doc["escalation"]["repeat_limit"] = 5
    path.write_text(dump_agreement(make_agreement(**doc)))
    return path


def _ticket(n: int) -> TicketInput:
    return TicketInput(
        ticket_id=f"SR-{uuid.uuid4().hex[:8]}-{n}",
        customer="Restart AG",
        subject=f"ticket {n}",
        priority="P1",
        channel="phone",
        requester_email="ops@restart.example",
    )


async def test_tickets_on_every_tier_continue_after_the_server_restarts(
    server: DevServer, outside: tuple[Mailbox, SlackStandin], tmp_path: Path
) -> None:
    mailbox, slack = outside
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'slaflow.db'}",
        agreement_file=_agreement_yaml(tmp_path / "agreement.yaml"),
        temporal_address=server.address,
        task_queue=f"server-restart-{uuid.uuid4()}",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        slack_base_url=slack.base_url,
        slack_bot_token=SecretStr(SLACK_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        graceful_shutdown_seconds=2,
    )
    engine = make_engine(settings.resolved_database_url)
    create_tables(engine)
    seed_agreements(engine, settings.agreement_file)
    client = await Client.connect(server.address, data_converter=pydantic_data_converter)
    await register_search_attributes(client, "default")

    async with build_worker(client, settings, engine):
        tickets = [_ticket(n) for n in range(4)]
        for n, ticket in enumerate(tickets):
            await open_ticket(client, settings.task_queue, ticket, choose_agreement(engine, ticket))
            for rung in range(n):
                await run_command(
                    client, ticket.ticket_id, Escalate(actor="lead1", reason=f"rung {rung}")
                )
        before = [await get_ticket(client, t.ticket_id) for t in tickets]
        assert [v.tier for v in before] == list(Tier)

        server.stop()
        stopped_at = datetime.now(UTC)
        await asyncio.sleep(DOWN_FOR)
        await server.start()
        restarted_at = datetime.now(UTC)

        async def moved_on() -> list[TicketView] | None:
            with contextlib.suppress(Exception):
                views = [await get_ticket(client, t.ticket_id) for t in tickets]
                if all(_next_steps(v) for v in views):
                    return views
            return None

        after = await eventually(moved_on, within=60, what="every ticket's next step")

    assert stopped_at < restarted_at
    expected = [Tier.TEAM_LEAD, Tier.SPECIALIST, Tier.MANAGEMENT, Tier.MANAGEMENT]
    assert [v.tier for v in after] == expected
    for view in after:
        (step,) = _next_steps(view)  # exactly one step each: nothing escalated twice
        due = _last_page(view, before=step.at) + timedelta(seconds=ACK_WINDOW)
        assert step.at >= due, (view.ticket_id, step)
        assert step.at >= stopped_at, (view.ticket_id, step)  # it fell due while down
        assert step.at <= max(due, restarted_at) + timedelta(seconds=15), (view.ticket_id, step)

    # The new tier of each of the first three tickets was emailed once, after the restart.
    for view, new_tier in zip(after[:3], ("lead", "spec", "mgmt"), strict=True):
        mails = [
            m
            for m in mailbox.messages()
            if view.ticket_id in str(m["Subject"]) and new_tier in str(m["To"])
        ]
        assert len(mails) == 1, (view.ticket_id, [str(m["Subject"]) for m in mails])


def _next_steps(view: TicketView) -> list[TicketEvent]:
    """Automatic escalations and re-pages by the system (not the manual escalations)."""
    return [
        e
        for e in view.events
        if e.kind in (EventKind.ESCALATED, EventKind.REPAGED) and e.actor == "slaflow"
    ]


def _last_page(view: TicketView, *, before: datetime) -> datetime:
    return max(
        e.at
        for e in view.events
        if e.kind in (EventKind.PAGED, EventKind.ESCALATED, EventKind.REPAGED) and e.at < before
    )
