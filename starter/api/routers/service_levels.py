"""`GET /reports/service-levels`: every service-level objective over its current window."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from temporalio.service import RPCError

from activities.agreement_store import NoAgreementError
from activities.service_levels import VisibilityBreaches, current_report
from starter.api.deps import EngineDep, SettingsDep, TemporalDep
from starter.api.errors import responses
from starter.tickets_service import TemporalUnavailable
from workflows.service_level_calls import ServiceLevelReport

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/service-levels",
    response_model=ServiceLevelReport,
    summary="Each service-level objective's current window: tickets, misses, error budget, state",
    responses=responses(401, 403, 404, 503),
)
async def service_levels(
    engine: EngineDep, temporal: TemporalDep, settings: SettingsDep
) -> ServiceLevelReport:
    """The same figures the scheduled check warns management by: closed tickets from the
    database, open tickets that already breached from Temporal visibility. Needs Temporal: a
    window without its open breaches would look better than it is (503 instead)."""
    client = await temporal.client()
    try:
        return await current_report(
            engine, VisibilityBreaches(client), settings.task_queue, datetime.now(UTC)
        )
    except NoAgreementError as error:
        raise HTTPException(404, detail=str(error)) from error
    except RPCError as error:
        raise TemporalUnavailable(f"Temporal visibility failed: {error.message}") from error
