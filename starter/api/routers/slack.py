"""Slack's requests to slaflow: interactions (buttons, modals) and the `/sla` slash command.

Both routes read the raw body and refuse, with 401 and before parsing anything, a request
whose Slack signature is missing or wrong, whose timestamp is more than 5 minutes away, or
whose signature was already accepted (a replay; remembered for 5 minutes in a table every API
replica shares). See
`starter.slack_cockpit` for what happens after.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from starter.api.deps import StateDep
from starter.api.errors import ErrorBody
from starter.slack_cockpit import (
    SlackCockpit,
    SlackRequestRejected,
    form_fields,
    interaction_payload,
)
from starter.slack_payloads import SlackPayloadInvalid

log = logging.getLogger("slaflow.slack")

router = APIRouter(prefix="/slack", tags=["slack"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Signed, but not a Slack request slaflow reads."},
    401: {
        "model": ErrorBody,
        "description": "Signature missing or wrong, timestamp over 5 minutes away, or a replay.",
    },
}


def _cockpit(state: StateDep) -> SlackCockpit:
    return state.slack


CockpitDep = Annotated[SlackCockpit, Depends(_cockpit)]


async def _verified_body(request: Request, cockpit: CockpitDep) -> bytes:
    """The raw body, once Slack's signature over exactly these bytes checks out."""
    body = await request.body()
    try:
        await cockpit.verify(body, request.headers)
    except SlackRequestRejected as exc:
        log.warning("refused a Slack request to %s: %s", request.url.path, exc.message)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=exc.message) from exc
    return body


VerifiedBody = Annotated[bytes, Depends(_verified_body)]


@router.post(
    "/interactions",
    summary="Slack interactivity: command buttons and their modals",
    response_class=Response,
    responses={
        200: {"description": "Taken; the verdict reaches the clicker through response_url."},
        **_REFUSED,
    },
)
async def interactions(
    body: VerifiedBody, cockpit: CockpitDep, background: BackgroundTasks
) -> Response:
    """Answers within Slack's 3 s at once: the command runs afterwards, and the clicker hears
    "done: ..." or "refused: <reason>". A submitted modal closes unless its text is unusable
    (then `response_action: errors` keeps it open)."""
    try:
        answer = cockpit.take_interaction(interaction_payload(body), background.add_task)
    except SlackPayloadInvalid as exc:
        # 400 for Slack, and the clicker told (after the answer) where the payload says how.
        return JSONResponse({"detail": str(exc)}, status_code=400, background=background)
    if answer is not None:
        return JSONResponse(answer)
    return Response(status_code=status.HTTP_200_OK)


class SlashAnswer(BaseModel):
    """What Slack shows the caller (ephemeral: only them)."""

    response_type: str = "ephemeral"
    text: str


@router.post(
    "/commands",
    summary="The /sla slash command",
    response_model=SlashAnswer,
    responses=_REFUSED,
)
async def commands(body: VerifiedBody, cockpit: CockpitDep) -> dict[str, Any]:
    """`/sla <ticket-id>`: the ticket's status, tier, owner and each target's deadline and time
    left. `/sla`: the caller's open tickets (assigned to or acknowledged by them)."""
    try:
        return await cockpit.take_command(form_fields(body))
    except SlackPayloadInvalid as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
