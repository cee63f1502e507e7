"""Next-reply and periodic-update clocks on the time-skipping server: a customer message
starts the reply clock, the agent's reply meets it, a missed update escalates."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities import agreement_store
from slaflow.tickets import (
    Acknowledge,
    CustomerMessage,
    EventKind,
    Reply,
    Resolve,
    Respond,
    Snapshot,
    TargetKind,
    TicketOutcome,
)
from slaflow.tiers import Tier
from starter.tickets_service import choose_agreement
from tests.factories import agreement_file, customer_doc, make_ticket
from tests.workflows import test_ticket_workflow as base
from tests.workflows.test_ticket_workflow import Harness, M
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

harness = base.harness  # records histories too (SLAFLOW_RECORD_HISTORIES=1)


async def _open_replying(harness: Harness) -> WorkflowHandle[TicketWorkflow, TicketOutcome]:
    """A P1 of customer `chatty`, whose agreement wants a reply within 20m of each message
    and an update every 30m after the first response."""
    doc = customer_doc("chatty", "10m")
    doc["objectives"]["P1"]["next_reply"] = {"within": "20m"}
    doc["objectives"]["P1"]["periodic_update"] = {"within": "30m"}
    doc["objectives"]["P1"]["resolution"]["within"] = "8h"
    agreement_store.seed_file(harness.engine, agreement_file("chatty-gold", "chatty", doc))
    ticket = make_ticket(f"T-{uuid.uuid4().hex[:8]}", "P1", customer="chatty")
    selection = choose_agreement(harness.engine, ticket)
    handle = await harness.start(TicketWorkflowInput(ticket=ticket, selection=selection))
    await harness.update(handle, "snapshot", Snapshot())
    return handle


async def test_a_customer_message_is_answered_and_a_missed_update_escalates(
    harness: Harness,
) -> None:
    handle = await _open_replying(harness)
    await harness.update(handle, "acknowledge", Acknowledge(actor="chatty-agent1"))
    await harness.update(handle, "respond", Respond(actor="chatty-agent1"))
    await harness.env.sleep(5 * M)
    view = await harness.update(
        handle, "customer_message", CustomerMessage(actor="buyer@chatty.example", text="any news?")
    )
    reply = next(t for t in view.targets if t.kind is TargetKind.NEXT_REPLY)
    assert reply.status == "running" and reply.within_seconds == 1200
    await harness.env.sleep(10 * M)
    view = await harness.update(handle, "reply", Reply(actor="chatty-agent1", note="on it"))
    statuses = {t.kind: t.status for t in view.targets}
    assert statuses[TargetKind.NEXT_REPLY] == "met" and not view.breached
    await harness.env.sleep(31 * M)  # no update for 30m after the reply
    state = await harness.state(handle)
    assert state.breached and state.tier is Tier.TEAM_LEAD
    escalated = [e.detail for e in state.events if e.kind is EventKind.ESCALATED]
    assert "periodic update target of 30m breached" in escalated[-1]
    await harness.update(handle, "resolve", Resolve(actor="chatty-agent1"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.update(handle, "reply", Reply(actor="chatty-agent1"))
    assert "reopen it first" in str(refused.value.cause)
