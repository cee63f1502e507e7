"""Ticket intake, live state, listing and commands.

Each command gets its own route (`POST /tickets/{id}/acknowledge`, ...) so the OpenAPI document
shows each body; a catch-all after them answers 422 for a name that is not a command.
"""

# No `from __future__ import annotations`: the command routes are built in a loop and FastAPI
# must see each one's real body model in its annotations.

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse

from activities import audit_store
from slaflow.roles import Role
from slaflow.tickets import (
    COMMANDS,
    TICKET_ID_PATTERN,
    Command,
    TicketExplanation,
    TicketInput,
    TicketView,
    workflow_id_for,
)
from starter import tickets_service as service
from starter.acting import ActingRefused, read_refusal, visible_agreement
from starter.api.auth import requires, wants_html
from starter.api.deps import EngineDep, SettingsDep, TemporalDep
from starter.api.errors import allowed_methods, responses
from starter.api.metrics import count_ticket_opened
from starter.api.routers.ticket_page import ticket_page
from starter.api.ticket_commands import act
from starter.api.token_resolver import Principal
from starter.audit import AuditEntry, audit_csv, entries
from starter.command_bodies import BODIES

router = APIRouter(prefix="/tickets", tags=["tickets"])

TicketId = Annotated[
    str, Path(pattern=TICKET_ID_PATTERN, description="The intake system's ticket id.")
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketView,
    summary="Open a ticket (idempotent on ticket_id)",
    dependencies=requires(Role.INTAKE),
    responses={
        201: {"description": "Started; the ticket's SLA targets are pinned."},
        200: {
            "model": TicketView | service.KnownTicket,
            "description": "Already known: its current state for the agent role and above; "
            "for the intake role, which may not read tickets, only that it exists.",
        },
        **responses(400, 401, 403, 422, 503, 504),
    },
)
async def open_ticket(
    ticket: TicketInput,
    temporal: TemporalDep,
    settings: SettingsDep,
    engine: EngineDep,
    request: Request,
    response: Response,
) -> Any:
    """Start the ticket's workflow under the agreement its customer, service, channel and tags
    select (422 naming the customer if none does); a repeated intake answers 200 with the
    existing ticket (its state only to a caller who may read tickets)."""
    ticket = service.with_opening(ticket)  # refused before Temporal is asked
    selection = await asyncio.to_thread(service.choose_agreement, engine, ticket)
    client = await temporal.client()
    location = f"/tickets/{ticket.ticket_id}"
    if _may_read_tickets(request):
        opened = await service.open_ticket(client, settings.task_queue, ticket, selection)
    else:
        view = await service.open_new_ticket(client, settings.task_queue, ticket, selection)
        if view is None:
            known = service.KnownTicket(
                ticket_id=ticket.ticket_id, workflow_id=workflow_id_for(ticket.ticket_id)
            )
            return JSONResponse(known.model_dump(), headers={"Location": location})
        opened = service.Opened(view=view, created=True)
    if opened.created:
        count_ticket_opened(ticket)
    response.status_code = status.HTTP_201_CREATED if opened.created else status.HTTP_200_OK
    response.headers["Location"] = location
    return opened.view


def _may_read_tickets(request: Request) -> bool:
    role = getattr(request.state, "role", None)
    return isinstance(role, Role) and role.includes(Role.AGENT)


@router.get(
    "",
    response_model=service.TicketList,
    summary="List tickets through Temporal visibility",
    dependencies=requires(Role.AGENT),
    responses=responses(400, 401, 403, 422, 503, 504),
)
async def list_tickets(
    temporal: TemporalDep,
    filters: Annotated[service.TicketFilter, Query()],
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    detail: Annotated[bool, Query(description="Ask each running ticket for its state.")] = False,
) -> service.TicketList:
    """Newest first. Visibility is eventually consistent: a just-opened ticket may lag a second.
    A person's token lists the tickets of the agreements they work on (403 otherwise)."""
    principal = _principal(request)
    try:
        agreement = visible_agreement(principal.person, principal.role, filters.agreement)
    except ActingRefused as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
    filters = filters.model_copy(update={"agreement": agreement})
    return await service.list_tickets(await temporal.client(), filters, limit=limit, detail=detail)


def _principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    assert isinstance(principal, Principal)
    return principal


def _refuse_unseen(request: Request, view: TicketView) -> None:
    principal = _principal(request)
    refusal = read_refusal(principal.person, principal.role, view.agreement_id)
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)


@router.get(
    "/{ticket_id}",
    response_model=service.TicketDetail,
    summary="A ticket's live state, linked to its workflow in the Temporal UI",
    dependencies=requires(Role.AGENT),
    responses=responses(401, 403, 404, 422, 503, 504),
)
async def get_ticket(
    ticket_id: TicketId, temporal: TemporalDep, settings: SettingsDep, request: Request
) -> Any:
    """JSON for programs; a browser (Accept: text/html) gets the ticket page with its actions."""
    if wants_html(request):
        try:
            _refuse_unseen(request, await service.get_ticket(await temporal.client(), ticket_id))
        except service.TicketError:
            pass  # the page shows why it cannot be read, with its status
        except HTTPException as exc:
            return await ticket_page(
                request, ticket_id, error=exc.detail, status_code=403, hidden=True
            )
        return await ticket_page(request, ticket_id)
    view = await service.get_ticket(await temporal.client(), ticket_id)
    _refuse_unseen(request, view)
    return service.with_ui_link(view, settings)


@router.get(
    "/{ticket_id}/explain",
    response_model=TicketExplanation,
    summary="How each deadline was computed",
    dependencies=requires(Role.AGENT),
    responses=responses(401, 403, 404, 422, 503, 504),
)
async def explain_ticket(
    ticket_id: TicketId, temporal: TemporalDep, request: Request
) -> TicketExplanation:
    """Each target's calendar, the working spans counted, the pauses, and the deadline in the
    calendar's zone and in UTC: every escalation is traceable to this arithmetic."""
    explained = await service.explain_ticket(await temporal.client(), ticket_id)
    principal = _principal(request)
    refusal = read_refusal(principal.person, principal.role, explained.agreement_id)
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    return explained


def _add_command_route(name: str, model: type[Command]) -> None:
    body_model = BODIES[name]

    async def run(
        ticket_id: TicketId,
        body: body_model,  # type: ignore[valid-type]
        temporal: TemporalDep,
        engine: EngineDep,
        request: Request,
    ) -> TicketView:
        try:
            return await act(request, engine, await temporal.client(), ticket_id, name, body)
        except ActingRefused as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from None

    run.__name__ = f"command_{name}"
    router.add_api_route(
        f"/{{ticket_id}}/{name}",
        run,
        methods=["POST"],
        response_model=TicketView,
        dependencies=requires(Role.AGENT),
        summary=f"Command: {name.replace('_', ' ')}",
        description=(model.__doc__ or "").strip()
        or f"Runs `{name}` as a workflow update; the ticket may refuse it (409).",
        responses=responses(400, 401, 403, 404, 409, 422, 503, 504),
    )


@router.get(
    "/{ticket_id}/audit",
    response_model=list[AuditEntry],
    summary="Who did what to a ticket, accepted or refused (kept in the database)",
    dependencies=requires(Role.AGENT),
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv."},
        **responses(401, 403, 422, 503),
    },
)
async def ticket_audit(
    ticket_id: TicketId,
    engine: EngineDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Readable after the workflow's history is gone."""
    rows = entries(await asyncio.to_thread(audit_store.trail, engine, "ticket", ticket_id))
    if format == "csv":
        return PlainTextResponse(audit_csv(rows), media_type="text/csv")
    return rows


for _name, _model in COMMANDS.items():
    _add_command_route(_name, _model)


@router.post("/{ticket_id}/{command}", include_in_schema=False, dependencies=requires(Role.AGENT))
async def unknown_command(ticket_id: TicketId, command: str, request: Request) -> Any:
    allowed = allowed_methods(request.app, request.url.path)
    if allowed:  # a real path without POST, such as /explain
        raise HTTPException(
            status_code=status.HTTP_405_METHOD_NOT_ALLOWED, headers={"Allow": ", ".join(allowed)}
        )
    raise HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=f"path.command: unknown command {command!r}; valid commands: " + ", ".join(COMMANDS),
    )
