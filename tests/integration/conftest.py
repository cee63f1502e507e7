"""One real stack for the integration tests: dev server, mailbox, Slack stand-in, worker, API.

Everything is session-scoped (starting Temporal costs seconds) and isolated by a fresh task
queue and a tmp data dir. The API is the real app from `create_app`, lifespan included, and
reaches Temporal the way production does: through the address in its settings. The agreement
is the test factory's with a 3-second agent acknowledgement window, so an unacknowledged ticket
escalates within the test's patience and an acknowledged one stays put.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, text
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from activities import people_store, token_store
from activities.agreement_store import seed_agreements
from activities.db import create_tables, make_engine
from slaflow.agreement_file import dump_agreement
from slaflow.people import PersonRole
from slaflow.roles import Role
from slaflow.search_attributes import SEARCH_ATTRIBUTES
from slaflow.settings import Settings, get_settings
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter.api.main import create_app
from starter.cli import app as cli_app
from tests.api_support import auth_headers, auth_settings
from tests.conftest import binary
from tests.factories import agreement_doc, make_agreement
from worker import build_worker

BOT_TOKEN = "xoxb-integration"
SIGNING_SECRET = "integration-signing-secret"
LINK_SECRET = "integration-signing-link-secret"
AGENT_ACK_WINDOW = "3s"
POSTGRES_URL = os.environ.get("SLAFLOW_TEST_POSTGRES_URL", "")
ISOLATED_NAMESPACE = "isolated"
"""A second namespace of the session's dev server, for a test that must see only its own
tickets (the fuzz test lists and queries whatever exists)."""

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 20.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy (visibility and timers take a moment)."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(0.2)


def short_agreement_yaml() -> str:
    doc = agreement_doc(reopen_window="4s")
    doc["escalation"]["tiers"][0]["ack_window"] = AGENT_ACK_WINDOW
    return dump_agreement(make_agreement(**doc))


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        ip="127.0.0.1",
        dev_server_extra_args=["--namespace", ISOLATED_NAMESPACE],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def mailbox(stack_dir: Path) -> Iterator[Mailbox]:
    with Mailbox(stack_dir / "mail", port=0) as box:
        yield box


@pytest.fixture(scope="session")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(SIGNING_SECRET, BOT_TOKEN, port=0) as standin:
        yield standin


@pytest.fixture(scope="session")
def stack_database_url(stack_dir: Path) -> Iterator[str]:
    """The shared stack's database: PostgreSQL when SLAFLOW_TEST_POSTGRES_URL is set (CI), in
    a schema of its own named in the URL, so every process and CLI call given the URL finds
    the same tables; otherwise SQLite. The tests that start their own processes (`slaflow
    run`, the worker kill, the server restart) use SQLite files, the embedded default, so CI
    runs both."""
    if not POSTGRES_URL:
        yield f"sqlite:///{stack_dir / 'slaflow.db'}"
        return
    schema = f"slaflow_it_{uuid.uuid4().hex}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(
    temporal: Client,
    mailbox: Mailbox,
    slack: SlackStandin,
    stack_dir: Path,
    stack_database_url: str,
) -> Settings:
    agreement = stack_dir / "agreement.yaml"
    agreement.write_text(short_agreement_yaml())
    return auth_settings(
        data_dir=stack_dir,
        database_url=stack_database_url,
        agreement_file=agreement,
        temporal_address=temporal.service_client.config.target_host,
        task_queue=f"integration-{uuid.uuid4()}",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        slack_base_url=slack.base_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        signing_link_secret=SecretStr(LINK_SECRET),
        graceful_shutdown_seconds=5,
    )


@pytest.fixture(scope="session")
def stack_engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    create_tables(engine)
    seed_agreements(engine, settings.agreement_file)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def worker(temporal: Client, settings: Settings, stack_engine: Engine) -> AsyncIterator[None]:
    async with build_worker(temporal, settings, stack_engine):
        yield


@pytest.fixture(scope="session")
async def api(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan (tables, seed, Temporal connection) over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://slaflow.test",
            timeout=60,
            headers=auth_headers(),
        ) as client:
            yield client


@pytest.fixture
def new_ticket() -> Callable[..., dict[str, Any]]:
    """An intake body with a unique id and customer, so tests never see each other's tickets."""

    def make(**overrides: Any) -> dict[str, Any]:
        unique = uuid.uuid4().hex[:10]
        body = {
            "ticket_id": f"IT-{unique}",
            "customer": f"Customer {unique}",
            "subject": "Checkout fails",
            "description": "HTTP 500 on payment",
            "priority": "P1",
            "channel": "phone",
            "requester_email": "ops@acme.example",
        }
        return {**body, **overrides}

    return make


class Cli:
    """`slaflow ...` in a thread, so the session loop (and the worker on it) keeps running."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        self.settings = settings
        self.runner = CliRunner()
        self._monkeypatch = monkeypatch

    def acting_as(self, token: str) -> None:
        """Later calls act as the person (or integration) `token` belongs to."""
        self._monkeypatch.setenv("SLAFLOW_CLI_TOKEN", token)
        get_settings.cache_clear()

    async def __call__(self, *args: str) -> Result:
        return await asyncio.to_thread(self.runner.invoke, cli_app, list(args))


@pytest.fixture
def cli(settings: Settings, worker: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    env = {
        "SLAFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
        "SLAFLOW_TASK_QUEUE": settings.task_queue,
        "SLAFLOW_DATA_DIR": str(settings.data_dir),
        "SLAFLOW_DATABASE_URL": settings.resolved_database_url,
        "SLAFLOW_AGREEMENT_FILE": str(settings.agreement_file),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Cli(settings, monkeypatch)
    get_settings.cache_clear()


def person_token(
    engine: Engine,
    name: str,
    email: str,
    roles: list[tuple[str, PersonRole]],
    token_role: Role = Role.AGENT,
    slack_user_id: str | None = None,
) -> str:
    """A person (added once per session) with `roles` on agreements, and a new token of theirs."""
    now = datetime.now(UTC)
    with contextlib.suppress(people_store.PersonConflict):
        people_store.add_person(engine, name, email, slack_user_id, now)
    for agreement_id, role in roles:
        people_store.grant(engine, email, agreement_id, role)
    person = people_store.find_person(engine, email)
    made = token_store.create_token(
        engine, f"{email}-{uuid.uuid4().hex[:8]}", token_role, now, person.id
    )
    return made.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app`, lifespan included, served by uvicorn on a free port of 127.0.0.1 in a thread."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="slaflow-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def served_api(settings: Settings, worker: None, slack: SlackStandin) -> Iterator[str]:
    """The real app, lifespan included, on a real port; the stand-in's clicks go there."""
    with serving(create_app(settings)) as url:
        slack.interaction_url = f"{url}/slack/interactions"
        slack.command_url = f"{url}/slack/commands"
        try:
            yield url
        finally:
            slack.interaction_url = slack.command_url = None


async def ticket_message(slack: SlackStandin, ticket_id: str) -> tuple[str, str]:
    """(channel, ts) of the ticket's first Slack message with buttons, once it is there."""

    async def probe() -> tuple[str, str] | None:
        with slack.state.lock:
            for message in slack.state.messages:
                for block in message.blocks or []:
                    if block.get("type") == "actions" and any(
                        e.get("value") == ticket_id for e in block["elements"]
                    ):
                        return message.channel, message.ts
        return None

    return await eventually(probe, what=f"a Slack message with buttons for {ticket_id}")


@pytest.fixture
async def standin(slack: SlackStandin, served_api: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=slack.url, timeout=30)


async def click(
    standin: httpx.AsyncClient, where: tuple[str, str], action_id: str, user: str
) -> dict[str, Any]:
    """Click a button of the stand-in's message `where` as Slack user `user`."""
    channel, ts = where
    answer = await standin.post(
        "/_standin/click", json={"channel": channel, "ts": ts, "action_id": action_id, "user": user}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == 200, result  # Slack got its answer at once
    return result
