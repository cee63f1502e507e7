"""The database goes away while tickets resolve and close: every ticket's facts are written when
it returns, and the report counts every ticket.

PostgreSQL (SLAFLOW_TEST_POSTGRES_URL, set by .ci/run) is reached through a TCP proxy of this
test's own, so "down" is real: connections are cut and new ones refused, as when the database
host restarts. The worker and the session's dev server stay up; only the database fails, and
the facts activities' retry policy (STORE_RETRY: at most 30 s between attempts) brings the
writes in once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from temporalio.client import Client

from activities.agreement_store import seed_agreements
from activities.db import create_tables, make_engine
from activities.tables import TicketFactRow
from slaflow.agreement_file import dump_agreement
from slaflow.reports import GroupBy
from slaflow.settings import Settings
from slaflow.tickets import Resolve, TicketInput
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter import reports_service
from starter.tickets_service import open_ticket, run_command
from tests.factories import DEFAULT_SELECTION, agreement_doc, make_agreement
from tests.integration.conftest import BOT_TOKEN, SIGNING_SECRET, eventually
from worker import build_worker

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("SLAFLOW_TEST_POSTGRES_URL", "")
N_TICKETS = 5
REOPEN_WINDOW = 2
"""Seconds a resolved ticket waits before it closes: it closes while the database is down."""
DOWN_FOR = 8.0


class Proxy:
    """Forwards 127.0.0.1:<port> to the database; `down()` cuts every connection and refuses
    new ones until `up()`, on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            try:
                await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
            finally:
                up_writer.close()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._pipes.discard(task)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while chunk := await source.read(65536):
        sink.write(chunk)
        await sink.drain()
    sink.close()


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    if not POSTGRES_URL:
        pytest.skip("SLAFLOW_TEST_POSTGRES_URL is not set (.ci/run sets it)")
    url = make_url(POSTGRES_URL)
    running = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await running.up()
    yield running
    with contextlib.suppress(Exception):
        await running.down()


@pytest.fixture
async def proxied_engine(proxy: Proxy) -> AsyncIterator[Engine]:
    """A fresh schema reached through the proxy (which runs on this loop: every blocking
    database call of the test goes through a thread)."""
    schema = f"slaflow_outage_{uuid.uuid4().hex}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    proxied = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port)
    engine = make_engine(proxied.render_as_string(hide_password=False), schema=schema)
    try:
        await asyncio.to_thread(create_tables, engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _facts(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(select(TicketFactRow.ticket_id, TicketFactRow.status))  # type: ignore[call-overload]
        return {ticket_id: status for ticket_id, status in rows}


async def test_facts_written_while_the_database_is_down_arrive_when_it_returns(
    temporal: Client,
    mailbox: Mailbox,
    slack: SlackStandin,
    proxy: Proxy,
    proxied_engine: Engine,
    tmp_path: Path,
) -> None:
    agreement = tmp_path / "agreement.yaml"
    agreement.write_text(
        dump_agreement(make_agreement(**agreement_doc(reopen_window=f"{REOPEN_WINDOW}s")))
    )
    settings = Settings(
        data_dir=tmp_path,
        agreement_file=agreement,
        temporal_address=temporal.service_client.config.target_host,
        task_queue=f"db-outage-{uuid.uuid4()}",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        slack_base_url=slack.base_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        graceful_shutdown_seconds=2,
    )
    await asyncio.to_thread(seed_agreements, proxied_engine, agreement)
    started = datetime.now(UTC)
    ids = [f"DB-{uuid.uuid4().hex[:8]}-{n}" for n in range(N_TICKETS)]

    async with build_worker(temporal, settings, proxied_engine):
        for ticket_id in ids:
            await open_ticket(
                temporal,
                settings.task_queue,
                TicketInput(
                    ticket_id=ticket_id,
                    customer="Outage GmbH",
                    subject="database outage",
                    priority="P2",
                    channel="email",
                    requester_email="ops@outage.example",
                ),
                DEFAULT_SELECTION,
            )

        await proxy.down()
        for ticket_id in ids:
            await run_command(temporal, ticket_id, Resolve(actor="agent1", note="fixed"))
        await asyncio.sleep(DOWN_FOR)  # resolved, then closed, all while the database is down
        with pytest.raises(OperationalError):
            await asyncio.to_thread(_facts, proxied_engine)
        await proxy.up()

        async def all_closed() -> dict[str, str] | None:
            found = await asyncio.to_thread(_facts, proxied_engine)
            return found if found == dict.fromkeys(ids, "closed") else None

        await eventually(all_closed, within=60, what="every ticket's facts after the outage")

    report = await asyncio.to_thread(
        reports_service.sla,
        proxied_engine,
        reports_service.Period(started - timedelta(minutes=1), datetime.now(UTC)),
        GroupBy.PRIORITY,
    )
    assert report.totals.opened == N_TICKETS
    assert report.totals.closed == N_TICKETS
