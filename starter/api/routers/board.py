"""`GET /board`: the managers' live board, from Temporal visibility and each ticket's query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from slaflow.board import Board
from starter import board_service
from starter.api.deps import TemporalDep
from starter.api.errors import responses

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
) -> Board:
    """Which tickets are open comes from visibility (search attributes); each ticket's clocks
    from its live query. A ticket that cannot answer yet is shown with `live: false`."""
    return await board_service.live_board(await temporal.client(), limit=limit)
