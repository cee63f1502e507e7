"""Liveness (the process answers) and readiness (Temporal and the database answer, the
namespace has slaflow's search attributes, and the database schema is at the code's revision)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, text

from activities import schema
from starter import doctor
from starter.api.deps import AppState, StateDep

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 5.0


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


def _ping_database(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _schema_check(state: AppState) -> str:
    """ "ok" when the database is at the code's revision, else what it is at and what to run."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            current = await asyncio.to_thread(schema.current_revision, state.engine)
    except Exception as exc:
        return f"unknown: {exc or type(exc).__name__}"
    head = schema.head_revision()
    if current == head:
        return "ok"
    return f"not migrated: at {current or 'no revision'}, needs {head} (run `slaflow db upgrade`)"


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Temporal and the database answer, and the database is migrated",
    responses={503: {"model": Health, "description": "A dependency does not answer."}},
)
async def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            client = await state.temporal.client()
            await client.service_client.check_health()
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"unavailable: {exc or type(exc).__name__}"
    else:
        found = await doctor.check_search_attributes(state.settings, client)
        checks["search_attributes"] = "ok" if found.ok else found.message
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await asyncio.to_thread(_ping_database, state.engine)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {exc or type(exc).__name__}"
    else:
        checks["schema"] = await _schema_check(state)
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())
