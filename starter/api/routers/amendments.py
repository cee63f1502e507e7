"""Amendments: propose a new agreement version, follow its sign-off, decide on it.

Each decision is a workflow update with a validator: a refusal (not a signatory, decided
already, amendment closed) answers 409 with the reason.
"""

# No `from __future__ import annotations`: the decision routes are built in a loop and FastAPI
# must see each one's real body model in its annotations.

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine
from temporalio.client import Client

from activities import audit_store
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
from slaflow.people import Actor, PersonRole
from slaflow.roles import Role
from starter import amendments_service as service
from starter.api.auth import current_actor, requires
from starter.api.deps import EngineDep, SettingsDep, TemporalDep
from starter.api.errors import responses
from starter.api.token_resolver import Principal
from starter.audit import AuditEntry, audit, audit_csv, entries
from starter.command_bodies import DecisionBody, decision_body_of
from starter.tickets_service import TicketError

router = APIRouter(prefix="/amendments", tags=["amendments"])
MANAGER_ONLY = requires(Role.MANAGER)

AmendmentId = Annotated[str, Path(pattern=AMENDMENT_ID_PATTERN, description="The amendment id.")]
DECISION_RESPONSES = responses(400, 404, 409, 422, 503, 504)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentView,
    summary="Propose an amendment",
    dependencies=MANAGER_ONLY,
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
    request: Request,
) -> AmendmentView:
    """Invalid proposals (unknown priority, negative target, no signatories, a signatory
    twice or not a signatory of the agreement in the people directory, a past deadline, an
    unknown `amends_version`) answer 422 and start nothing. The proposer is the person of the
    credential: `proposer` must be their own email (403 otherwise, or for an integration)."""
    actor = await current_actor(request)
    if actor.email is None or actor.email != proposer_email(proposal.proposer):
        refusal = (
            "amendments are proposed by a person: use your own token (`slaflow token create "
            "--person`) or your login; an integration's token cannot propose"
            if actor.email is None
            else f"body.proposer: {proposal.proposer} is not you ({actor.email}); propose as "
            "yourself"
        )
        await audit(engine, "amendment", proposal.amendment_id, "propose", actor, refused=refusal)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    # refuse a bad proposal before reaching for Temporal: 422 even while Temporal is down
    await asyncio.to_thread(service.check_proposal, engine, proposal, datetime.now(UTC))
    principal = getattr(request.state, "principal", None)
    person = principal.person if isinstance(principal, Principal) else None
    if (
        person is not None
        and isinstance(principal, Principal)
        and principal.role is not Role.ADMIN
        and PersonRole.MANAGER not in person.roles_on(proposal.agreement_id)
    ):
        refusal = f"{person.email} is no manager of agreement {proposal.agreement_id}"
        await audit(engine, "amendment", proposal.amendment_id, "propose", actor, refused=refusal)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    view = await service.propose(await temporal.client(), settings.task_queue, engine, proposal)
    response.headers["Location"] = f"/amendments/{proposal.amendment_id}"
    await audit(engine, "amendment", proposal.amendment_id, "propose", actor)
    return view


@router.get(
    "",
    response_model=service.AmendmentList,
    summary="List amendments (Temporal visibility, with live state)",
    dependencies=MANAGER_ONLY,
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
    dependencies=MANAGER_ONLY,
    responses=responses(404, 422, 503, 504),
)
async def get_amendment(amendment_id: AmendmentId, temporal: TemporalDep) -> AmendmentView:
    return await service.get_amendment(await temporal.client(), amendment_id)


BODIES = {
    name: decision_body_of(model)
    for name, model in (
        ("approve", Approve),
        ("reject", Reject),
        ("request_changes", RequestChanges),
        ("revise", Revise),
        ("withdraw", Withdraw),
    )
}
MODELS: dict[str, type[AmendmentCommand]] = {
    "approve": Approve,
    "reject": Reject,
    "request_changes": RequestChanges,
    "revise": Revise,
    "withdraw": Withdraw,
}
SUMMARIES = {
    "approve": "A signatory approves, as the person of the credential",
    "reject": "A signatory rejects (comment required); the amendment closes as rejected",
    "request_changes": "A signatory requests changes; the proposer may then revise",
    "revise": "The proposer submits a revision; earlier approvals are void",
    "withdraw": "The proposer withdraws the amendment",
}
NOT_A_PERSON = (
    "decisions are signed by a person: use your own token (`slaflow token create --person`), "
    "your login, Slack, or the link emailed to you; an integration's token cannot sign"
)


def proposer_email(text: str) -> str:
    return text.strip().lower()


def _not_theirs(view: AmendmentView, name: str, email: str) -> str | None:
    """Why `email` may not make decision `name` on this amendment (None: the workflow decides)."""
    if name in ("revise", "withdraw"):
        if view.proposer.lower() != email.lower():
            return f"only the proposer ({view.proposer}) may {name} amendment {view.amendment_id}"
        return None
    if all(d.signatory.email.lower() != email.lower() for d in view.signatories):
        return f"{email} is not a signatory of amendment {view.amendment_id}"
    return None


async def decide_as(
    request: Request,
    engine: Engine,
    client: Client,
    amendment_id: str,
    name: str,
    body: DecisionBody,
    actor: Actor | None = None,
) -> AmendmentView:
    """Decision `name` signed by `actor` (default: the request's credential), audited either
    way; 403 for a credential that is nobody or not this amendment's signatory."""
    actor = actor or await current_actor(request)
    if actor.email is None:
        await audit(engine, "amendment", amendment_id, name, actor, refused=NOT_A_PERSON)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_A_PERSON)
    view = await service.get_amendment(client, amendment_id)
    refusal = _not_theirs(view, name, actor.email)
    if refusal is not None:
        await audit(engine, "amendment", amendment_id, name, actor, refused=refusal)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    command = body.decision(MODELS[name], actor.email, actor.method)
    try:
        decided = await service.decide(client, amendment_id, command, engine=engine)
    except TicketError as exc:
        await audit(engine, "amendment", amendment_id, name, actor, refused=exc.message)
        raise
    await audit(
        engine, "amendment", amendment_id, name, actor, detail=f"revision {decided.revision}"
    )
    return decided


def _add_decision_route(name: str) -> None:
    body_model = BODIES[name]

    async def run(
        amendment_id: AmendmentId,
        body: body_model,  # type: ignore[valid-type]
        temporal: TemporalDep,
        engine: EngineDep,
        request: Request,
    ) -> AmendmentView:
        client = await temporal.client()
        return await decide_as(request, engine, client, amendment_id, name, body)

    run.__name__ = f"decide_{name}"
    router.add_api_route(
        f"/{{amendment_id}}/{name}",
        run,
        methods=["POST"],
        response_model=AmendmentView,
        summary=SUMMARIES[name],
        dependencies=requires(Role.INTAKE),  # who may sign is the person check's to say
        description="Signed by the person of the credential, never by a name in the body; "
        "403 for an integration's token or someone who is not a signatory (the proposer, for "
        "revise and withdraw); 409 when the amendment refuses it (decided already, closed, "
        "stale).",
        responses={**DECISION_RESPONSES, **responses(403)},
    )


for _name in MODELS:
    _add_decision_route(_name)


@router.get(
    "/{amendment_id}/audit",
    response_model=list[AuditEntry],
    summary="Who decided what on an amendment, accepted or refused (kept in the database)",
    dependencies=MANAGER_ONLY,
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv."},
        **responses(422, 503),
    },
)
async def amendment_audit(
    amendment_id: AmendmentId,
    engine: EngineDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    rows = entries(await asyncio.to_thread(audit_store.trail, engine, "amendment", amendment_id))
    if format == "csv":
        return PlainTextResponse(audit_csv(rows), media_type="text/csv")
    return rows
