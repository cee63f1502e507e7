"""An amendment that moves open tickets: the mover sends `adopt_terms` to each running ticket
on the task queue, against the real dev server and its visibility."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.agreement_store import EPOCH, add_version
from activities.db import create_tables, make_engine
from activities.facts import FactsActivities
from activities.terms import TermsActivities
from activities.ticket_mover import TicketMoverActivities
from slaflow.tickets import EventKind, Resolve, Snapshot, TicketView, workflow_id_for
from tests.factories import agreement_doc, make_agreement, make_ticket
from tests.integration.conftest import eventually
from tests.workflows.notifications import RecordedNotifications
from workflows.amendment_calls import MoveRequest
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

pytestmark = pytest.mark.integration


@pytest.fixture
async def queue(temporal: Client, tmp_path: Path) -> AsyncIterator[tuple[str, Engine]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'move.db'}")
    create_tables(engine)
    add_version(engine, make_agreement(), effective_from=EPOCH, source="test")
    task_queue = f"move-{uuid.uuid4().hex}"
    sent = RecordedNotifications()
    terms, facts = TermsActivities(engine), FactsActivities(engine)
    async with Worker(
        temporal,
        task_queue=task_queue,
        workflows=[TicketWorkflow],
        activities=[terms.pin_terms, facts.record_ticket_facts, sent.send_email, sent.post_slack],
        activity_executor=ThreadPoolExecutor(4),
    ):
        yield task_queue, engine
        query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
        async for execution in temporal.list_workflows(query):
            await temporal.get_workflow_handle(execution.id).terminate("test finished")


async def test_open_tickets_adopt_the_new_version_and_resolved_ones_keep_theirs(
    temporal: Client, queue: tuple[str, Engine]
) -> None:
    task_queue, engine = queue
    ids = [f"MOVE-{uuid.uuid4().hex[:6]}-{n}" for n in range(2)]
    for ticket_id in ids:
        handle = await temporal.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(ticket=make_ticket(ticket_id)),
            id=workflow_id_for(ticket_id),
            task_queue=task_queue,
        )
        await handle.execute_update("snapshot", Snapshot(), result_type=TicketView)
    resolved = temporal.get_workflow_handle(workflow_id_for(ids[1]))
    await resolved.execute_update("resolve", Resolve(actor="a"), result_type=TicketView)

    doc = agreement_doc()
    doc["objectives"]["P1"]["resolution"]["within"] = "3h"
    add_version(engine, make_agreement(**doc), effective_from=datetime.now(UTC), source="test")

    async def both_visible() -> bool:
        query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
        return (await temporal.count_workflows(query)).count == 2

    await eventually(both_visible, what="both tickets in visibility")
    mover = TicketMoverActivities(temporal)
    request = MoveRequest(amendment_id="A-9", version=2, task_queue=task_queue)
    result = await ActivityEnvironment().run(mover.move_open_tickets, request)

    assert result.moved == [workflow_id_for(ids[0])]
    assert len(result.kept) == 1 and "is resolved; it keeps its terms" in result.kept[0]
    moved = await temporal.get_workflow_handle(workflow_id_for(ids[0])).query(
        "state", result_type=TicketView
    )
    assert moved.agreement_version == 2
    deadline = moved.targets[1].deadline
    assert deadline is not None and abs(deadline - (moved.opened_at + timedelta(hours=3))) < (
        timedelta(seconds=1)
    )
    changed = [e for e in moved.events if e.kind is EventKind.TERMS_CHANGED]
    assert [(e.actor, e.detail) for e in changed] == [("amendment A-9", "agreement version 1 -> 2")]
    # a retry moves nothing twice
    again = await ActivityEnvironment().run(mover.move_open_tickets, request)
    assert again.moved == [] and len(again.kept) == 2
    description = await temporal.get_workflow_handle(workflow_id_for(ids[0])).describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
