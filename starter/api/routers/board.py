"""`GET /board`: the managers' live board, from Temporal visibility and each ticket's query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from slaflow.board import Board
from slaflow.customers import SLUG_PATTERN
from starter import board_service
from starter.api.deps import TemporalDep
from starter.api.errors import responses
from starter.tickets_service import TicketFilter

router = APIRouter(tags=["board"])


@router.get(
    "/board",
    response_model=Board,
    summary="Open tickets by tier and priority, breached first, then least time left",
    responses=responses(401, 403, 422, 503),
)
async def board(
    temporal: TemporalDep,
    limit: Annotated[
        int,
        Query(ge=1, le=board_service.MAX_LIMIT, description="Most tickets to show."),
    ] = board_service.DEFAULT_LIMIT,
    customer: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this customer's.")
    ] = None,
    agreement: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, description="Only this agreement's tickets.")
    ] = None,
) -> Board:
    """Which tickets are open comes from visibility (search attributes); each ticket's clocks
    from its live query. A ticket that cannot answer yet is shown with `live: false`."""
    filters = TicketFilter(customer=customer, agreement=agreement)
    return await board_service.live_board(await temporal.client(), limit=limit, filters=filters)
