"""Amendments: propose a new agreement version, follow its sign-off, decide on it.

Each decision is a workflow update with a validator: a refusal (not a signatory, decided
already, amendment closed) answers 409 with the reason.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from slaflow.amendments import (
    AMENDMENT_ID_PATTERN,
    AmendmentCommand,
    AmendmentProposal,
    AmendmentStatus,
    AmendmentView,
    Approve,
    Reject,
    RequestChanges,
    Revise,
    Withdraw,
)
from starter import amendments_service as service
from starter.api.deps import EngineDep, SettingsDep, TemporalDep
from starter.api.errors import responses

router = APIRouter(prefix="/amendments", tags=["amendments"])

AmendmentId = Annotated[str, Path(pattern=AMENDMENT_ID_PATTERN, description="The amendment id.")]
DECISION_RESPONSES = responses(400, 404, 409, 422, 503, 504)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentView,
    summary="Propose an amendment",
    responses={
        201: {"description": "Started: signatories are asked once its impact is computed."},
        409: {
            "description": "An amendment with this id already exists, or the version it "
            "amends is no longer the latest (the detail names the latest)."
        },
        **responses(400, 422, 503, 504),
    },
)
async def propose(
    proposal: AmendmentProposal,
    temporal: TemporalDep,
    settings: SettingsDep,
    engine: EngineDep,
    response: Response,
) -> AmendmentView:
    """Invalid proposals (unknown priority, negative target, no signatories, a signatory
    twice, a past deadline, an unknown `amends_version`) answer 422 and start nothing."""
    # refuse a bad proposal before reaching for Temporal: 422 even while Temporal is down
    await asyncio.to_thread(service.check_proposal, engine, proposal, datetime.now(UTC))
    view = await service.propose(await temporal.client(), settings.task_queue, engine, proposal)
    response.headers["Location"] = f"/amendments/{proposal.amendment_id}"
    return view


@router.get(
    "",
    response_model=service.AmendmentList,
    summary="List amendments (Temporal visibility, with live state)",
    responses=responses(422, 503, 504),
)
async def list_amendments(
    temporal: TemporalDep,
    status_: Annotated[AmendmentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> service.AmendmentList:
    return await service.list_amendments(await temporal.client(), status=status_, limit=limit)


@router.get(
    "/{amendment_id}",
    response_model=AmendmentView,
    summary="An amendment's live state: status, revision, decisions, deadline, impact",
    responses=responses(404, 422, 503, 504),
)
async def get_amendment(amendment_id: AmendmentId, temporal: TemporalDep) -> AmendmentView:
    return await service.get_amendment(await temporal.client(), amendment_id)


async def _decide(
    temporal: TemporalDep,
    amendment_id: str,
    command: AmendmentCommand,
    engine: EngineDep | None = None,
) -> AmendmentView:
    return await service.decide(await temporal.client(), amendment_id, command, engine=engine)


@router.post(
    "/{amendment_id}/approve",
    response_model=AmendmentView,
    summary="A signatory approves",
    responses=DECISION_RESPONSES,
)
async def approve(
    amendment_id: AmendmentId, command: Approve, temporal: TemporalDep, engine: EngineDep
) -> AmendmentView:
    """Refused (409) when the amended version is no longer the latest."""
    return await _decide(temporal, amendment_id, command, engine)


@router.post(
    "/{amendment_id}/reject",
    response_model=AmendmentView,
    summary="A signatory rejects (comment required); the amendment closes as rejected",
    responses=DECISION_RESPONSES,
)
async def reject(
    amendment_id: AmendmentId, command: Reject, temporal: TemporalDep
) -> AmendmentView:
    return await _decide(temporal, amendment_id, command)


@router.post(
    "/{amendment_id}/request_changes",
    response_model=AmendmentView,
    summary="A signatory requests changes; the proposer may then revise",
    responses=DECISION_RESPONSES,
)
async def request_changes(
    amendment_id: AmendmentId, command: RequestChanges, temporal: TemporalDep
) -> AmendmentView:
    return await _decide(temporal, amendment_id, command)


@router.post(
    "/{amendment_id}/revise",
    response_model=AmendmentView,
    summary="The proposer submits a revision; earlier approvals are void",
    responses=DECISION_RESPONSES,
)
async def revise(
    amendment_id: AmendmentId, command: Revise, temporal: TemporalDep, engine: EngineDep
) -> AmendmentView:
    """Refused (409) when the amended version is no longer the latest."""
    return await _decide(temporal, amendment_id, command, engine)


@router.post(
    "/{amendment_id}/withdraw",
    response_model=AmendmentView,
    summary="The proposer withdraws the amendment",
    responses=DECISION_RESPONSES,
)
async def withdraw(
    amendment_id: AmendmentId, command: Withdraw, temporal: TemporalDep
) -> AmendmentView:
    return await _decide(temporal, amendment_id, command)
