"""The worker's metrics endpoints: the Temporal SDK's (its Rust core serves Prometheus itself, on
SLAFLOW_TEMPORAL_METRICS_PORT) and slaflow's own (prometheus-client, on
SLAFLOW_WORKER_METRICS_PORT). Two registries, two ports: the SDK's metrics live in its core and
cannot join prometheus-client's registry. Port 0 turns either off; a port in use is logged and
skipped, since metrics must never keep a worker from escalating tickets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import start_http_server
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from slaflow.settings import Settings

log = logging.getLogger("slaflow.telemetry")

CORE_LOGS = LoggingConfig(
    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
)
"""The SDK core's own warnings, through Python logging (so JSON logs stay JSON)."""


def worker_runtime(settings: Settings) -> Runtime:
    """A Temporal runtime exporting the SDK's metrics on the configured port."""
    if settings.temporal_metrics_port:
        address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
        try:
            runtime = Runtime(
                telemetry=TelemetryConfig(
                    logging=CORE_LOGS, metrics=PrometheusConfig(bind_address=address)
                )
            )
            log.info("Temporal SDK metrics on http://%s/metrics", address)
            return runtime
        except Exception as exc:
            log.error("Temporal SDK metrics not served on %s: %s", address, exc)
    return Runtime(telemetry=TelemetryConfig(logging=CORE_LOGS))


@dataclass
class MetricsServer:
    server: Any
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_worker_metrics(settings: Settings) -> MetricsServer | None:
    """slaflow's own worker metrics (escalations, breaches, notifications) over HTTP."""
    if not settings.worker_metrics_port:
        return None
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port, addr=settings.metrics_host
        )
    except OSError as exc:
        log.error(
            "slaflow worker metrics not served on %s:%s: %s",
            settings.metrics_host,
            settings.worker_metrics_port,
            exc,
        )
        return None
    port = server.server_port
    log.info("slaflow worker metrics on http://%s:%s/metrics", settings.metrics_host, port)
    return MetricsServer(server, port)
