"""From a real TicketWorkflow to the reports: a ticket paused, quickly re-paused, escalated by
hand and resolved leaves facts that the pause audit, the escalation analysis and the SLA report
read back from the database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle

from slaflow.reports import GroupBy
from slaflow.tickets import (
    Acknowledge,
    Escalate,
    Pause,
    Resolve,
    Respond,
    Resume,
    TicketOutcome,
    TicketView,
)
from slaflow.tiers import Tier
from starter import reports_service
from tests.workflows import test_ticket_workflow
from tests.workflows.test_ticket_workflow import Harness
from workflows.ticket import TicketWorkflow

harness = test_ticket_workflow.harness  # the fixture: a worker on a time-skipping server
M = timedelta(minutes=1)


def span_of(view: TicketView) -> reports_service.Period:
    return reports_service.Period(view.opened_at, view.opened_at + timedelta(days=1))


async def step(
    harness: Harness, handle: WorkflowHandle[TicketWorkflow, TicketOutcome], name: str, arg: object
) -> TicketView:
    return await harness.update(handle, name, arg)


async def test_a_paused_ticket_reaches_the_reports(harness: Harness, engine: Engine) -> None:
    handle = await harness.open(priority="P2")  # respond in 20m, resolve in 2h
    opened = await step(harness, handle, "acknowledge", Acknowledge(actor="agent1"))
    await step(harness, handle, "respond", Respond(actor="agent1"))
    await step(harness, handle, "pause", Pause(actor="agent1"))
    await harness.env.sleep(20 * M)
    await step(harness, handle, "resume", Resume(actor="customer"))
    await harness.env.sleep(2 * M)
    await step(harness, handle, "pause", Pause(actor="agent1"))  # 2 minutes after the reply
    await harness.env.sleep(30 * M)
    await step(harness, handle, "resume", Resume(actor="customer"))
    await step(harness, handle, "escalate", Escalate(actor="agent1", reason="needs a lead"))
    await harness.env.sleep(3 * M)
    await step(harness, handle, "acknowledge", Acknowledge(actor="lead1"))
    await step(harness, handle, "resolve", Resolve(actor="lead1"))
    outcome = await handle.result()  # closes after the 1h reopen window; facts written again

    facts = outcome.facts
    assert facts.pauses == 2 and len(facts.repause_gaps_seconds) == 1
    assert 120 <= facts.repause_gaps_seconds[0] < 130
    assert 50 * 60 <= facts.paused_seconds < 51 * 60
    assert facts.resolved_tier is Tier.TEAM_LEAD and Tier.TEAM_LEAD in facts.tier_ack_seconds

    span = span_of(opened)
    audit = reports_service.pauses(engine, span, timedelta(minutes=10), 0.5)
    (flagged,) = audit.flagged
    assert flagged.ticket_id == opened.ticket_id and flagged.flags == [
        "quick_repause",
        "long_pause",
    ]
    assert flagged.paused_seconds == facts.paused_seconds
    escalations = reports_service.escalations(engine, span, 10)
    lead = next(t for t in escalations.tiers if t.tier is Tier.TEAM_LEAD)
    assert (lead.reached, lead.resolved, lead.acknowledged) == (1, 1, 1)
    assert lead.ack_mean_seconds == facts.tier_ack_seconds[Tier.TEAM_LEAD]
    report = reports_service.sla(engine, span, GroupBy.PRIORITY)
    assert [(g.group, g.closed, g.first_response_met, g.resolution_met) for g in report.groups] == [
        ("P2", 1, 1, 1)
    ]
