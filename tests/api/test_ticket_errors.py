"""How Temporal's refusals reach the caller: each as a TicketError with its HTTP status."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from starter.tickets_service import (
    NoAnswer,
    TemporalUnavailable,
    TicketError,
    TicketNotFound,
    _answered,
)


async def _raising(error: Exception) -> None:
    raise error


@pytest.mark.parametrize(
    ("status", "message", "expected", "http", "detail"),
    [
        (
            RPCStatusCode.NOT_FOUND,
            "workflow not found",
            TicketNotFound,
            404,
            "ticket T-1 not found",
        ),
        (
            RPCStatusCode.UNAVAILABLE,
            "connection refused",
            TemporalUnavailable,
            503,
            "cannot reach Temporal: connection refused",
        ),
        (
            RPCStatusCode.FAILED_PRECONDITION,
            "no poller seen for task queue recently, worker may be down",
            NoAnswer,
            504,
            "ticket T-1: no worker is polling its task queue (is `slaflow worker` running?)",
        ),
    ],
)
async def test_temporal_errors_become_ticket_errors_with_their_status(
    status: RPCStatusCode,
    message: str,
    expected: type[TicketError],
    http: int,
    detail: str,
) -> None:
    with pytest.raises(expected) as caught:
        await _answered("T-1", _raising(RPCError(message, status, b"")))
    assert caught.value.http_status == http
    assert str(caught.value) == detail


async def test_any_other_rpc_error_is_not_disguised() -> None:
    with pytest.raises(RPCError):
        await _answered("T-1", _raising(RPCError("bad", RPCStatusCode.INTERNAL, b"")))
