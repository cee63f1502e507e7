"""The API application: `create_app(settings)`, or `uvicorn starter.api.main:create_app --factory`.

`app` also exists as a module attribute, built on first access, for tools that want one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from slaflow.roles import Role
from slaflow.secret_policy import refuse_weak_secrets
from slaflow.settings import Settings, get_settings
from starter.api import docs, errors, metrics
from starter.api.auth import AUTH_ERRORS, requires
from starter.api.body_limit import BodyLimitMiddleware
from starter.api.deps import app_state, build_state, startup
from starter.api.input_guard import InputGuardMiddleware
from starter.api.metrics import RequestMetrics
from starter.api.pages import mount_static
from starter.api.routers import (
    agreement,
    agreements,
    amendments,
    board,
    dashboard,
    health,
    people,
    report_print,
    signing,
    slack,
    ticket_page,
    tickets,
)
from starter.api.routers import credits as credit_routes
from starter.api.routers import login as login_pages
from starter.api.routers import outages as outage_routes
from starter.api.routers import reports as report_routes
from starter.api.routers import service_levels as service_level_routes
from starter.api.routers import tokens as token_routes
from starter.slack_socket import socket_mode

DESCRIPTION = """\
Intake and live state of tickets whose SLA clocks run as Temporal workflows.

Open a ticket with `POST /tickets`; read it with `GET /tickets/{id}`; act on it with
`POST /tickets/{id}/{command}`, or from Slack (`/slack/interactions`, `/slack/commands`: signed
by Slack, refused with 401 otherwise). Errors answer `{"detail": "..."}` naming the field or reason.

Every other route but `/healthz` and `/readyz` needs `Authorization: Bearer <token>` (*Authorize*
above). Roles: intake opens tickets, agent acts on them, manager reads the agreement, amendments,
reports and metrics, admin manages tokens; each includes the ones before it. 401 without a valid
token, 403 naming the role needed. Browsers log in at `/login` instead.
"""


app: FastAPI  # built on first access by __getattr__ below


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app_state(app)
    await startup(state)
    try:
        async with socket_mode(state.settings, state.slack) as app.state.slack_socket:
            yield
    finally:
        state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    refuse_weak_secrets(settings, "api")  # `slaflow api` says so in one line before this
    app = FastAPI(
        title="slaflow",
        version="0.1.0",
        summary="SLA escalation orchestrator on Temporal",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # served from the package by docs.install, not from a CDN
        redoc_url=None,
    )
    app.state.slaflow = build_state(settings)
    errors.install(app)
    app.add_middleware(InputGuardMiddleware)  # inside the limit: the body it reads is bounded
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestMetrics)  # outermost: times every request, refusals included
    # Roles per router; tickets declares its own per route (intake opens, agents act).
    # Health stays open for probes; Slack is authenticated by Slack's signature instead.
    app.include_router(tickets.router)
    app.include_router(ticket_page.router)  # the browser's ticket page and its forms
    app.include_router(agreement.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS)
    for router in (agreements.customers_router, agreements.agreements_router):
        app.include_router(router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS)
    app.include_router(health.router)
    app.include_router(login_pages.router)  # /login, /logout: browsers' sessions
    app.include_router(
        token_routes.router, dependencies=requires(Role.ADMIN), responses=AUTH_ERRORS
    )
    app.include_router(people.router, responses=AUTH_ERRORS)  # a role per route
    app.include_router(slack.router)
    app.include_router(signing.router)  # the emailed one-time link is its own credential
    # managers propose and read; any token's person may sign, if a signatory (per route)
    app.include_router(amendments.router, responses=AUTH_ERRORS)
    app.include_router(board.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS)
    app.include_router(
        report_routes.router,
        dependencies=[*requires(Role.MANAGER), Depends(report_routes.person_report_scope)],
        responses=AUTH_ERRORS,
    )
    app.include_router(report_routes.compliance_router, responses=AUTH_ERRORS)
    app.include_router(
        service_level_routes.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS
    )
    app.include_router(
        credit_routes.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS
    )
    app.include_router(
        outage_routes.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS
    )
    app.include_router(dashboard.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS)
    app.include_router(
        report_print.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS
    )
    mount_static(app)  # /static: the pages' CSS, scripts, vendored Chart.js and docs assets
    docs.install(app)  # /docs, /redoc
    app.include_router(metrics.router, dependencies=requires(Role.MANAGER), responses=AUTH_ERRORS)
    return app


def __getattr__(name: str) -> FastAPI:
    """`starter.api.main:app`, built from the environment's settings when first asked for."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
