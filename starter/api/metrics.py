"""The API's Prometheus metrics: request latency by route template and status, tickets opened,
served on `GET /metrics` (main.py attaches the manager role to the router; Prometheus scrapes
with a bearer token, see deploy/prometheus/prometheus.yml).

`RequestMetrics` is plain ASGI middleware, so it times every request, refusals included, and
labels it by route template (`/tickets/{ticket_id}`), never by raw path: one series per route,
whatever ids callers send. It also writes one access-log line per request, with `ticket_id`
when the route names one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slaflow.tickets import TicketInput
from starter.logs import escape_controls

access_log = logging.getLogger("slaflow.api.access")

REQUEST_SECONDS = Histogram(
    "slaflow_api_request_duration_seconds",
    "API request latency by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TICKETS_OPENED = Counter(
    "slaflow_tickets_opened",
    "Tickets opened through intake (a repeated intake of a known id is not counted).",
    ["priority", "channel"],
)
UNMATCHED = "<unmatched>"
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Label values a request's method may take; any other method is counted as `other`, so
made-up methods cannot add series without bound."""

router = APIRouter(tags=["operations"])


def count_ticket_opened(ticket: TicketInput) -> None:
    TICKETS_OPENED.labels(priority=ticket.priority.value, channel=ticket.channel.value).inc()


@router.get(
    "/metrics",
    summary="Prometheus metrics of this API process",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """ASGI middleware: latency histogram and an access-log line per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = method_label(scope["method"])
            REQUEST_SECONDS.labels(method=method, route=route, status=status_label(status)).observe(
                elapsed
            )
            extra: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            }
            ticket_id = (scope.get("path_params") or {}).get("ticket_id")
            if ticket_id:
                extra["ticket_id"] = ticket_id
            access_log.info(
                "%s %s %s %.1fms",
                method,
                escape_controls(scope.get("path", "")),
                status,
                elapsed * 1000,
                extra=extra,
            )


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    """The status as a label; only the codes HTTP defines (100-599)."""
    return str(status) if 100 <= status <= 599 else OTHER


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
