"""A ticket whose dates are out of range (sent around the edge's check) fails with a reason
instead of failing its workflow task forever (item 1 of the hardening issue)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from tests.factories import make_ticket
from tests.workflows.test_ticket_workflow import Harness, harness  # noqa: F401 (fixture)
from workflows.ticket import TicketWorkflowInput, _in_range

HANG_GUARD_SECONDS = 60  # a stuck ticket would never end: fail the test instead of hanging


@pytest.mark.parametrize(
    "opened_at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"], ids=["year_9999", "year_1"]
)
async def test_a_ticket_opened_out_of_range_fails_for_good(
    harness: Harness,  # noqa: F811 (the fixture)
    opened_at: str,
) -> None:
    ticket = make_ticket(f"T-range-{uuid.uuid4().hex[:6]}", opened_at=opened_at)
    handle = await harness.start(TicketWorkflowInput(ticket=ticket))
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), HANG_GUARD_SECONDS)
    causes = []
    cause: BaseException | None = failed.value.cause
    while cause is not None:
        causes.append(cause)
        cause = cause.cause if isinstance(cause, ActivityError) else None
    assert any(isinstance(c, ApplicationError) and c.type == "OutOfRange" for c in causes)


def test_overflowing_arithmetic_becomes_a_non_retryable_failure() -> None:
    with pytest.raises(ApplicationError) as raised, _in_range():
        raise OverflowError("date value out of range")
    assert raised.value.type == "OutOfRange" and raised.value.non_retryable
