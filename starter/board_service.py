"""The live board from Temporal: visibility says which tickets are open, each one's query says
how much time its clocks have left. Nothing comes from a stored copy, so the board is as fresh
as the workflows themselves (visibility may lag a just-opened ticket by a second)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client

from slaflow.board import (
    BOARD_STATUSES,
    Board,
    BoardTicket,
    build_board,
    from_view,
    from_visibility,
)
from starter.tickets_service import (
    DETAIL_CONCURRENCY,
    TemporalUnavailable,
    TicketFilter,
    TicketSummary,
    build_list_query,
    get_ticket,
    quote,
    summarize,
    unreadable,
)

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


def board_query(filters: TicketFilter | None = None) -> str:
    """Running tickets whose status still owes work (not resolved awaiting its reopen window),
    of one customer or agreement if `filters` says so."""
    statuses = ", ".join(quote(s.value) for s in BOARD_STATUSES)
    return (
        f"{build_list_query(filters or TicketFilter())} AND ExecutionStatus = 'Running'"
        f" AND SlaStatus IN ({statuses})"
    )


async def _live(client: Client, summary: TicketSummary, gate: asyncio.Semaphore) -> BoardTicket:
    """The ticket's live state; one that cannot give it is shown from visibility, with the
    reason, and counted, so one broken ticket never takes the board down."""
    async with gate:
        try:
            return from_view(await get_ticket(client, summary.ticket_id))
        except Exception as exc:
            problem = unreadable(summary.ticket_id, exc, view="board")
            return from_visibility(
                ticket_id=summary.ticket_id,
                workflow_id=summary.workflow_id,
                customer=summary.customer,
                priority=summary.priority,
                tier=summary.tier,
                status=summary.status,
                breached=summary.breached,
                opened_at=summary.started_at,
                problem=problem,
            )


async def live_board(
    client: Client, *, limit: int = DEFAULT_LIMIT, filters: TicketFilter | None = None
) -> Board:
    """Open tickets grouped by tier and priority, breached first, then least time left."""
    query = board_query(filters)
    try:
        summaries = [summarize(e) async for e in client.list_workflows(query, limit=limit + 1)]
    except Exception as exc:  # RPCError or a connection failure: say it in the API's words
        raise TemporalUnavailable(f"cannot list open tickets: {exc}") from exc
    truncated = len(summaries) > limit
    summaries = summaries[:limit]
    gate = asyncio.Semaphore(DETAIL_CONCURRENCY)
    tickets = await asyncio.gather(*(_live(client, s, gate) for s in summaries))
    return build_board(tickets, as_of=datetime.now(UTC), query=query, truncated=truncated)
