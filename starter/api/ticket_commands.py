"""Running a ticket command for a request: as its credential's actor, audited either way.

Shared by the JSON routes (`POST /tickets/{id}/{command}`) and the ticket page's forms.
"""

from __future__ import annotations

import asyncio

from fastapi import Request
from sqlalchemy import Engine
from temporalio.client import Client

from slaflow.roles import Role
from slaflow.tickets import COMMANDS, TicketView
from starter import tickets_service as service
from starter.acting import ActingRefused, acting_actor
from starter.api.auth import current_actor
from starter.audit import audit
from starter.command_bodies import CommandBody


async def act(
    request: Request, engine: Engine, client: Client, ticket_id: str, name: str, body: CommandBody
) -> TicketView:
    """Run command `name` as the credential's actor (or the person an integration names);
    `ActingRefused` when the credential may not act on this ticket's agreement, after
    auditing the refusal; refusals by the ticket itself are audited too."""
    credential = await current_actor(request)
    view = await service.get_ticket(client, ticket_id)
    role = getattr(request.state, "role", Role.AGENT)
    try:
        actor = await asyncio.to_thread(
            acting_actor, engine, credential, role, view.agreement_id, body.on_behalf_of
        )
    except ActingRefused as exc:
        await audit(engine, "ticket", ticket_id, name, credential, refused=str(exc))
        raise
    command = body.command(COMMANDS[name], actor.display[:200])
    try:
        result = await service.run_command(client, ticket_id, command)
    except service.CommandRefused as exc:
        await audit(engine, "ticket", ticket_id, name, actor, refused=exc.message)
        raise
    await audit(engine, "ticket", ticket_id, name, actor)
    return result
