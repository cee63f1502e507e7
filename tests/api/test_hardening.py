"""Hostile input at the API's edge (the hardening issue): each test reproduces one probe.

Temporal is replaced by fakes: what is tested is what the edge answers, never a 5xx."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner

from slaflow import ticket_machine as machine
from slaflow.roles import Role
from slaflow.search_attributes import SEARCH_ATTRIBUTES
from slaflow.settings import Settings, get_settings
from starter.api.deps import TemporalGateway, app_state, prepare_database
from starter.api.main import create_app
from starter.cli import app as cli
from starter.logs import configure_logging
from tests.api_support import auth_headers, auth_settings
from tests.factories import make_terms, make_ticket

GOOD = {
    "ticket_id": "T-100",
    "customer": "ACME",
    "subject": "Checkout fails",
    "priority": "P1",
    "channel": "phone",
    "requester_email": "ops@acme.example",
}
SECRET = "internal-only-comment"


class FakeGateway(TemporalGateway):
    def __init__(self, settings: Settings, client: Any) -> None:
        super().__init__(settings)
        self._client = client

    async def client(self) -> Any:
        if self._client is None:
            raise AssertionError("this request must not reach Temporal")
        return self._client


def _app(tmp_path: Path, client: Any = None, *, seeded: bool = False) -> Any:
    """The app on fake Temporal; `seeded`: tables and agreements too (intake reads them to
    choose the ticket's agreement)."""
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    state = app_state(app)
    if seeded:
        prepare_database(state.engine, state.settings)
    state.temporal = FakeGateway(state.settings, client)
    return app


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_app(tmp_path)) as client:
        yield client


def _client(app: Any, role: Role = Role.ADMIN) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=auth_headers(role)
    )


# ----- 2: a duplicate intake reveals nothing the intake role may not read ----------------------


class _Existing:
    """A Temporal client that knows ticket T-100, with an internal comment on it."""

    namespace = "default"

    def __init__(self) -> None:
        now = datetime(2026, 11, 2, 9, tzinfo=UTC)
        ticket = make_ticket("T-100", description=SECRET)
        rt, _ = machine.open_ticket(ticket, make_terms(), now, now)
        self.view = machine.view(rt, now)
        self.read = False

    async def start_workflow(self, *_: Any, **__: Any) -> Any:
        raise WorkflowAlreadyStartedError("ticket-T-100", "TicketWorkflow")

    def get_workflow_handle(self, workflow_id: str) -> Any:
        outer = self

        class Handle:
            async def describe(self) -> Any:
                outer.read = True
                return SimpleNamespace(status=None)

            async def query(self, *_: Any, **__: Any) -> Any:
                outer.read = True
                return outer.view

        return Handle()


async def test_duplicate_intake_tells_the_intake_role_only_that_it_exists(tmp_path: Path) -> None:
    existing = _Existing()
    async with _client(_app(tmp_path, existing, seeded=True), Role.INTAKE) as intake:
        answer = await intake.post("/tickets", json=GOOD)
    assert answer.status_code == 200
    assert answer.json() == {"ticket_id": "T-100", "workflow_id": "ticket-T-100", "created": False}
    assert answer.headers["Location"] == "/tickets/T-100"
    assert SECRET not in answer.text
    assert not existing.read


async def test_duplicate_intake_shows_an_agent_the_ticket(tmp_path: Path) -> None:
    existing = _Existing()
    async with _client(_app(tmp_path, existing, seeded=True), Role.AGENT) as agent:
        answer = await agent.post("/tickets", json=GOOD)
    assert answer.status_code == 200
    assert answer.json()["description"] == SECRET


# ----- 4: metric labels are bounded ------------------------------------------------------------


def _series(name: str) -> set[tuple[tuple[str, str], ...]]:
    return {
        tuple(sorted(sample.labels.items()))
        for metric in REGISTRY.collect()
        if metric.name == name
        for sample in metric.samples
    }


async def test_made_up_methods_add_no_series(api: httpx.AsyncClient) -> None:
    for i in range(20):
        await api.request(f"BREW{i}", f"/nowhere/{i}")
    methods = {dict(labels)["method"] for labels in _series("slaflow_api_request_duration_seconds")}
    assert not any(m.startswith("BREW") for m in methods)
    assert "other" in methods
    routes = {dict(labels)["route"] for labels in _series("slaflow_api_request_duration_seconds")}
    assert not any(r.startswith("/nowhere") for r in routes)


# ----- 6: NaN, deep nesting and control characters are 422s naming the field --------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
async def test_nan_in_a_body_is_422_naming_the_field(api: httpx.AsyncClient, value: str) -> None:
    body = '{"ticket_id": ' + value + ', "customer": "ACME"}'
    answer = await api.post("/tickets", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.ticket_id:")


async def test_a_deeply_nested_body_is_422(api: httpx.AsyncClient) -> None:
    deep = "[" * 600 + "]" * 600
    body = '{"title": "x", "changes": ' + deep + "}"
    for path in ("/amendments", "/tickets"):
        answer = await api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422
        assert "nested deeper than" in answer.json()["detail"]


async def test_brackets_inside_strings_do_not_count_as_nesting(api: httpx.AsyncClient) -> None:
    answer = await api.post("/tickets", json={**GOOD, "subject": "[" * 600})
    assert answer.status_code == 422  # the subject is too long, not too deep
    assert answer.json()["detail"].startswith("body.subject:")


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f"])
async def test_control_characters_in_a_filter_are_422_naming_it(
    api: httpx.AsyncClient, char: str
) -> None:
    answer = await api.get("/tickets", params={"customer": f"ACME{char}"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "query.customer: control characters are not allowed"


# ----- 7: what is logged cannot forge a line ---------------------------------------------------


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    configure_logging(Settings(_env_file=None, log_format="text", log_level="INFO"), stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def test_an_encoded_newline_in_a_path_writes_one_log_line(
    api: httpx.AsyncClient, text_log: io.StringIO
) -> None:
    forged = "INFO slaflow.api.access POST /tickets 201 1.0ms"
    await api.get("/healthz%0A2026-01-01 00:00:00,000 " + forged.replace(" ", "%20"))
    lines = text_log.getvalue().splitlines()
    access = [line for line in lines if line.split(" ")[3:4] == ["slaflow.api.access"]]
    assert len(access) == 1
    assert "\\n2026-01-01" in access[0]
    assert not any(line.startswith("2026-01-01") for line in lines)


# ----- 8: a namespace without slaflow's search attributes, and unexpected errors ----------------


class _NoAttributes:
    """A namespace that has never heard of slaflow's search attributes."""

    namespace = "bare"

    def __init__(self) -> None:
        self.operator_service = SimpleNamespace(list_search_attributes=self._list)
        self.service_client = SimpleNamespace(check_health=self._healthy)

    async def _list(self, _: Any) -> Any:
        return SimpleNamespace(custom_attributes={"SlaPriority": 1})

    async def _healthy(self) -> bool:
        return True

    async def start_workflow(self, *_: Any, **__: Any) -> Any:
        raise RPCError(
            "Namespace bare has no mapping defined for search attribute SlaCustomer",
            RPCStatusCode.INVALID_ARGUMENT,
            b"",
        )


MISSING = sorted(k.name for k in SEARCH_ATTRIBUTES if k.name != "SlaPriority")


async def test_intake_without_search_attributes_is_503_naming_them(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, _NoAttributes(), seeded=True)) as api:
        answer = await api.post("/tickets", json=GOOD)
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert detail.startswith("search attributes missing in namespace bare: " + ", ".join(MISSING))


async def test_readyz_names_missing_search_attributes(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, _NoAttributes())) as api:
        answer = await api.get("/readyz")
    assert answer.status_code == 503
    check = answer.json()["checks"]["search_attributes"]
    assert ", ".join(MISSING) in check


class _Broken:
    namespace = "default"

    async def start_workflow(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("something nobody expected")


async def test_an_unexpected_error_answers_json(tmp_path: Path) -> None:
    async with _client(_app(tmp_path, _Broken(), seeded=True)) as api:
        answer = await api.post("/tickets", json=GOOD)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": "internal error (RuntimeError); see the API's log"}


def test_the_cli_refuses_a_control_character_in_a_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["ticket", "list", "--customer", "ACME\x00"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "--customer: String should match pattern" in result.stderr
    assert "cannot reach Temporal" not in result.stderr
