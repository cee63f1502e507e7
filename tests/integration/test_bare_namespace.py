"""A namespace without slaflow's search attributes (item 8 of the hardening issue): intake
answers 503 naming them and `/readyz` says so, against the real dev server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from activities.agreement_store import seed_agreements
from activities.db import create_tables
from slaflow.settings import Settings
from starter.api.deps import app_state
from starter.api.main import create_app
from tests.api_support import auth_headers

pytestmark = pytest.mark.integration

MISSING = "SlaAgreement, SlaBreached, SlaCustomer, SlaMeasured, SlaPriority, SlaStatus, SlaTier"


@pytest.fixture
async def bare_api(
    settings: Settings, temporal: Client, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    namespace = f"bare-{uuid.uuid4().hex[:8]}"
    retention = Duration()
    retention.FromTimedelta(timedelta(days=1))
    await temporal.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=retention)
    )
    own = settings.model_copy(
        update={
            "temporal_namespace": namespace,
            "database_url": f"sqlite:///{tmp_path / 'bare.db'}",
        }
    )
    app = create_app(own)
    create_tables(app_state(app).engine)
    seed_agreements(app_state(app).engine, settings.agreement_file)  # intake reads them first
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers=auth_headers()
    ) as client:
        yield client


async def test_intake_and_readiness_name_the_missing_search_attributes(
    bare_api: httpx.AsyncClient, new_ticket: object
) -> None:
    answer = await bare_api.post("/tickets", json=new_ticket())  # type: ignore[operator]
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "search attributes missing in namespace bare-" in answer.json()["detail"]
    assert MISSING in answer.json()["detail"]

    ready = await bare_api.get("/readyz")
    assert ready.status_code == 503
    assert MISSING in ready.json()["checks"]["search_attributes"]
