"""Metrics, the Temporal UI link and the worker's metrics endpoints, on the integration stack.

The integration worker runs in this process, so the worker's counters (escalations,
notifications) live in the same prometheus-client registry the test reads; in production each
worker serves its own on SLAFLOW_WORKER_METRICS_PORT.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from temporalio.client import Client

from slaflow.roles import Role
from slaflow.settings import Settings
from standins.slack_api import SlackStandin
from starter.telemetry import serve_worker_metrics, worker_runtime
from starter.temporal_client import connect
from tests.api_support import auth_headers
from tests.integration.conftest import Cli, eventually

pytestmark = pytest.mark.integration

NewTicket = Callable[..., dict[str, Any]]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_ticket_view_links_its_workflow_in_the_temporal_ui(
    api: httpx.AsyncClient, cli: Cli, new_ticket: NewTicket, settings: Settings
) -> None:
    body = new_ticket()
    tid = body["ticket_id"]
    assert (await api.post("/tickets", json=body)).status_code == 201
    expected = f"{settings.temporal_ui_url}/namespaces/default/workflows/ticket-{tid}"
    answer = await api.get(f"/tickets/{tid}")
    assert answer.status_code == 200
    assert answer.json()["temporal_ui_url"] == expected
    shown = await cli("ticket", "show", tid)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip().splitlines()[-1] == f"  Temporal UI  {expected}"


async def test_api_metrics_need_the_manager_role_and_count_intake_and_latency(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    opened = sample("slaflow_tickets_opened_total", priority="P2", channel="chat")
    timed = sample(
        "slaflow_api_request_duration_seconds_count", method="POST", route="/tickets", status="201"
    )
    body = new_ticket(priority="P2", channel="chat")
    assert (await api.post("/tickets", json=body)).status_code == 201
    assert (await api.post("/tickets", json=body)).status_code == 200  # a repeat is no new ticket
    assert sample("slaflow_tickets_opened_total", priority="P2", channel="chat") == opened + 1
    assert (
        sample(
            "slaflow_api_request_duration_seconds_count",
            method="POST",
            route="/tickets",
            status="201",
        )
        == timed + 1
    )

    assert (await api.get("/metrics", headers={"Authorization": ""})).status_code == 401
    assert (await api.get("/metrics", headers=auth_headers(Role.AGENT))).status_code == 403
    answer = await api.get("/metrics", headers=auth_headers(Role.MANAGER))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'slaflow_tickets_opened_total{channel="chat",priority="P2"}' in text
    assert (
        'slaflow_api_request_duration_seconds_bucket{le="0.005",method="POST",'
        'route="/tickets",status="201"}' in text
    )
    # Raw ids never become labels: a ticket's route is counted under its template.
    await api.get(f"/tickets/{body['ticket_id']}")
    assert 'route="/tickets/{ticket_id}"' in (await api.get("/metrics")).text
    assert body["ticket_id"] not in (await api.get("/metrics")).text


async def test_the_worker_counts_escalations_and_deliveries(
    api: httpx.AsyncClient, new_ticket: NewTicket
) -> None:
    escalated = sample("slaflow_escalations_total", tier="team_lead")
    sent_slack = sample(
        "slaflow_notifications_sent_total", channel="slack", kind="escalation", duplicate="false"
    )
    sent_email = sample(
        "slaflow_notifications_sent_total", channel="email", kind="escalation", duplicate="false"
    )
    assert (await api.post("/tickets", json=new_ticket())).status_code == 201

    async def counted() -> bool:  # the agent's 3 s acknowledgement window lapses
        return (
            sample("slaflow_escalations_total", tier="team_lead") > escalated
            and sample(
                "slaflow_notifications_sent_total",
                channel="slack",
                kind="escalation",
                duplicate="false",
            )
            > sent_slack
            and sample(
                "slaflow_notifications_sent_total",
                channel="email",
                kind="escalation",
                duplicate="false",
            )
            > sent_email
        )

    await eventually(counted, within=30, what="the escalation counted by the interceptor")


async def test_failed_slack_attempts_are_counted_by_channel(
    api: httpx.AsyncClient, new_ticket: NewTicket, slack: SlackStandin
) -> None:
    failed = sample("slaflow_notification_failures_total", channel="slack", permanent="false")
    async with httpx.AsyncClient(base_url=slack.url) as http:
        injected = await http.post(
            "/_standin/fail",
            json={"method": "chat.postMessage", "status": 500, "error": "internal_error"},
        )
        injected.raise_for_status()
    assert (await api.post("/tickets", json=new_ticket())).status_code == 201

    async def counted() -> bool:
        return (
            sample("slaflow_notification_failures_total", channel="slack", permanent="false")
            > failed
        )

    await eventually(counted, within=20, what="a failed Slack attempt counted")


async def test_worker_serves_slaflow_and_sdk_metrics(settings: Settings, temporal: Client) -> None:
    ours, sdk = _free_port(), _free_port()
    ported = settings.model_copy(
        update={
            "metrics_host": "127.0.0.1",
            "worker_metrics_port": ours,
            "temporal_metrics_port": sdk,
        }
    )
    server = serve_worker_metrics(ported)
    assert server is not None and server.port == ours
    try:
        client = await connect(ported, runtime=worker_runtime(ported))
        await client.count_workflows()  # any call: the SDK counts its requests
        async with httpx.AsyncClient(timeout=10) as http:
            slaflow_text = (await http.get(f"http://127.0.0.1:{ours}/metrics")).text
            sdk_text = (await http.get(f"http://127.0.0.1:{sdk}/metrics")).text
    finally:
        server.stop()
    assert "slaflow_escalations_total" in slaflow_text
    assert "slaflow_notification_failures_total" in slaflow_text
    assert "temporal_request" in sdk_text


def test_a_metrics_port_in_use_is_logged_not_fatal(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ported = settings.model_copy(
            update={"metrics_host": "127.0.0.1", "worker_metrics_port": port}
        )
        with caplog.at_level("ERROR", logger="slaflow.telemetry"):
            assert serve_worker_metrics(ported) is None
    assert f"slaflow worker metrics not served on 127.0.0.1:{port}" in caplog.text
