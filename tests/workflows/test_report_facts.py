"""From a real TicketWorkflow to the reports: a ticket paused, quickly re-paused, escalated by
hand and resolved leaves facts that the pause audit, the escalation analysis and the SLA report
read back from the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle

from activities.tables import TicketFactRow
from slaflow.reports import Counting, GroupBy
from slaflow.tickets import (
    Acknowledge,
    Escalate,
    Pause,
    Reopen,
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


def fact_row(engine: Engine, ticket_id: str) -> TicketFactRow | None:
    with Session(engine) as session:
        return session.get(TicketFactRow, ticket_id)


async def test_a_breach_is_written_while_the_ticket_is_open(
    harness: Harness, engine: Engine
) -> None:
    handle = await harness.open(priority="P1")  # respond in 10m, resolve in 60m
    opened = await harness.state(handle)
    assert fact_row(engine, opened.ticket_id) is None  # nothing to report yet
    await harness.env.sleep(11 * M)  # the first response breaches at 10m
    view = await harness.state(handle)  # a query: the breach (and its write) has happened
    assert view.breached
    row = await until_written(harness, engine, opened.ticket_id)
    assert row.first_response_breached and not row.resolution_breached
    assert row.status == "open" and row.resolved_at is None
    span = span_of(opened)
    counted = reports_service.sla(engine, span, GroupBy.PRIORITY, Counting.COMPLETED_OR_BREACHED)
    totals = counted.totals
    assert (totals.opened, totals.resolved, totals.first_response_breaches) == (1, 0, 1)
    assert (totals.first_response_met, totals.first_response_measured) == (0, 1)
    assert reports_service.sla(engine, span, GroupBy.PRIORITY).totals.opened == 0


async def test_a_reopened_ticket_is_written_as_open_again(harness: Harness, engine: Engine) -> None:
    handle = await harness.open(priority="P2")  # respond in 20m, resolve in 2h
    opened = await step(harness, handle, "acknowledge", Acknowledge(actor="agent1"))
    await step(harness, handle, "respond", Respond(actor="agent1"))
    await step(harness, handle, "resolve", Resolve(actor="agent1"))
    resolved = await until_written(harness, engine, opened.ticket_id)
    assert resolved.status == "resolved"
    await step(harness, handle, "reopen", Reopen(actor="customer", reason="still broken"))
    row = await until_written(harness, engine, opened.ticket_id, lambda r: r.reopen_count == 1)
    assert row.status not in ("resolved", "closed") and row.resolved_at is None
    totals = reports_service.sla(engine, span_of(opened), GroupBy.PRIORITY).totals
    assert (totals.opened, totals.resolved, totals.reopened) == (1, 0, 1)
    assert totals.resolution_measured == 0 and totals.mttr_mean_seconds is None


async def until_written(
    harness: Harness,
    engine: Engine,
    ticket_id: str,
    ready: Callable[[TicketFactRow], bool] = lambda _: True,
) -> TicketFactRow:
    """The facts row once the background write has landed (the write is an activity)."""
    for _ in range(200):
        row = fact_row(engine, ticket_id)
        if row is not None and ready(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the facts of {ticket_id} were not written as expected")
