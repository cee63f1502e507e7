"""One way to connect to Temporal, shared by the worker, the API and the CLI."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from slaflow.search_attributes import SEARCH_ATTRIBUTES
from slaflow.settings import Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client with slaflow's data converter, honouring TLS certificates or an API key;
    `runtime` carries the worker's telemetry (metrics endpoint, log forwarding)."""
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls or bool(api_key),
        api_key=api_key,
        runtime=runtime,
    )


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register slaflow's search attributes where missing; returns the names it added.
    `slaflow run` gets them from dev-server flags; other clusters and test servers need this."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as err:  # the time-skipping test server can add but not list
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTES
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
