"""What routes depend on: settings, a Temporal client (connected once, lazily) and the engine.

The Temporal client is reached through `TemporalGateway` rather than injected directly because
FastAPI resolves dependencies before it reports body errors: a request with a bad body must be
answered 422 without waiting on an unreachable Temporal.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine
from temporalio.client import Client

from activities.agreement_store import seed_agreements
from activities.db import make_engine
from activities.schema import prepare_schema
from slaflow.settings import Settings
from starter.api.sessions import SessionCodec
from starter.api.throttle import FailureThrottle
from starter.api.token_resolver import TokenResolver
from starter.slack_cockpit import SlackCockpit
from starter.tickets_service import connect_client

log = logging.getLogger("slaflow.api")


class TemporalGateway:
    """Connects on first use and keeps the client; a failed attempt is retried next time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect_client(self.settings)
        return self._client


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    temporal: TemporalGateway = field(init=False)
    slack: SlackCockpit = field(init=False)
    tokens: TokenResolver = field(init=False)
    """Which role a token has: settings' tokens, then the database's."""
    sessions: SessionCodec = field(init=False)
    """Signs and reads the browser's login cookie."""
    throttle: FailureThrottle = field(init=False)
    """Slows down clients that keep presenting bad tokens."""

    def __post_init__(self) -> None:
        self.tokens = TokenResolver(
            self.settings.api_tokens,
            self.engine,
            cache_seconds=self.settings.api_token_cache_seconds,
        )
        self.sessions = SessionCodec.from_settings(self.settings)
        self.throttle = FailureThrottle()
        self.temporal = TemporalGateway(self.settings)
        # Through a lambda, so a test that swaps `temporal` swaps it for Slack too.
        self.slack = SlackCockpit(self.settings, self.engine, lambda: self.temporal.client())


def build_state(settings: Settings) -> AppState:
    """No I/O here: tables, the seed and the Temporal connection happen in `startup`."""
    return AppState(settings=settings, engine=make_engine(settings.resolved_database_url))


def prepare_database(engine: Engine, settings: Settings) -> None:
    """Schema at head (upgraded unless SLAFLOW_DB_AUTO_MIGRATE=false, then a behind schema
    fails the start with what to run), then agreement version 1."""
    prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
    seed_agreements(engine, settings.agreement_file)


async def startup(state: AppState) -> None:
    """Bring the schema to head and seed agreement v1, then try Temporal once so the first
    request is fast; an unreachable Temporal is logged (and shown by /readyz), not fatal."""
    await asyncio.to_thread(prepare_database, state.engine, state.settings)
    try:
        await state.temporal.client()
    except Exception as exc:
        log.warning("%s; will retry on the first request", exc)


def app_state(app: FastAPI) -> AppState:
    state: AppState = app.state.slaflow
    return state


def _state(request: Request) -> AppState:
    return app_state(request.app)


def _settings(request: Request) -> Settings:
    return app_state(request.app).settings


def _engine(request: Request) -> Engine:
    return app_state(request.app).engine


def _temporal(request: Request) -> TemporalGateway:
    return app_state(request.app).temporal


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
TemporalDep = Annotated[TemporalGateway, Depends(_temporal)]
StateDep = Annotated[AppState, Depends(_state)]
