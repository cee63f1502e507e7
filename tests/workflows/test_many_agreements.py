"""Many customers, many agreements, on the time-skipping server: each ticket runs under the
agreement intake chose for it, and nothing of one agreement leaks into another's tickets."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities import agreement_store
from activities.tables import TicketFactRow
from slaflow.tickets import (
    AdoptTerms,
    EventKind,
    Resolve,
    Snapshot,
    TicketExplanation,
    TicketOutcome,
)
from slaflow.tiers import Tier
from starter.tickets_service import choose_agreement
from tests.factories import agreement_file, customer_doc, make_agreement, make_ticket
from tests.workflows import test_ticket_workflow as base
from tests.workflows.test_ticket_workflow import Harness, M
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

harness = base.harness  # the ticket workflow tests' fixture (it records histories too)


def _seed(harness: Harness) -> None:
    """acme: P1 first response in 4m, own people; globex: 20m, hosting only, own people,
    excluding the fax gateway; the default (the engine fixture's) covers everyone else."""
    engine = harness.engine
    agreement_store.seed_file(
        engine, agreement_file("acme-gold", "acme", customer_doc("acme", "4m"))
    )
    globex = customer_doc("globex", "20m", scope=["Hosting", "Backups"], exclusions=["Fax gateway"])
    rules = [{"name": "hosting", "services": ["Hosting", "Fax gateway"]}]
    agreement_store.seed_file(
        engine,
        agreement_file("globex-hosting", "globex", globex, rules=rules),
    )


async def _open(
    harness: Harness, customer: str, **fields: Any
) -> WorkflowHandle[TicketWorkflow, TicketOutcome]:
    ticket = make_ticket(f"T-{uuid.uuid4().hex[:8]}", "P1", customer=customer, **fields)
    selection = choose_agreement(harness.engine, ticket)
    handle = await harness.start(TicketWorkflowInput(ticket=ticket, selection=selection))
    await harness.update(handle, "snapshot", Snapshot())
    return handle


async def test_two_customers_opened_together_get_their_own_terms_ladders_and_contacts(
    harness: Harness,
) -> None:
    _seed(harness)
    now = await harness.env.get_current_time()
    acme = await _open(harness, "acme", opened_at=now)
    globex = await _open(harness, "globex", service="Hosting", opened_at=now)
    a, g = await harness.state(acme), await harness.state(globex)
    assert (a.agreement_id, g.agreement_id) == ("acme-gold", "globex-hosting")
    assert a.agreement_rule == "the customer's agreement (no conditions)"
    assert g.agreement_rule == "rule 1 (hosting): service Hosting, Fax gateway"
    assert a.opened_at == g.opened_at
    assert [t.within_seconds for t in a.targets] == [240, 3600]
    assert [t.within_seconds for t in g.targets] == [1200, 3600]
    assert a.targets[0].deadline is not None and g.targets[0].deadline is not None
    assert g.targets[0].deadline - a.targets[0].deadline == 16 * M
    assert len(a.paged) == 1 and a.paged[0].startswith("acme-agent")  # round robin
    assert len(g.paged) == 1 and g.paged[0].startswith("globex-agent")
    await harness.env.sleep(6 * M)  # both agents' 5m ack windows lapse; acme breaches at 4m
    a, g = await harness.state(acme), await harness.state(globex)
    assert a.breached and not g.breached
    assert (a.tier, g.tier) == (Tier.TEAM_LEAD, Tier.TEAM_LEAD)
    why_a = [e.detail for e in a.events if e.kind is EventKind.ESCALATED]
    why_g = [e.detail for e in g.events if e.kind is EventKind.ESCALATED]
    assert "first response target of 4m breached" in why_a[0]
    assert "agent did not acknowledge within 5m" in why_g[0]
    roots = {s.channel for s in harness.sent.slack if s.thread_ts is None}
    assert roots == {"#acme-agents", "#acme-leads", "#globex-agents", "#globex-leads"}
    mails = {tuple(m.to) for m in harness.sent.emails if m.notice.tier is Tier.TEAM_LEAD}
    assert mails == {("acme-lead1@example.com",), ("globex-lead1@example.com",)}
    why: TicketExplanation = await acme.query("explain", result_type=TicketExplanation)
    assert (why.agreement_id, why.agreement_rule) == ("acme-gold", a.agreement_rule)


async def test_a_condition_rule_picks_the_agreement_and_the_rest_fall_back_to_default(
    harness: Harness,
) -> None:
    _seed(harness)
    hosting = await harness.state(await _open(harness, "globex", service="hosting"))
    other = await harness.state(await _open(harness, "globex", service="Printing"))
    stranger = await harness.state(await _open(harness, "Musterkunde AG"))
    assert hosting.agreement_id == "globex-hosting"
    assert (other.agreement_id, other.agreement_rule) == (
        "default",
        "default agreement (no rule of the customer's agreements matched)",
    )
    assert stranger.agreement_id == "default"
    assert other.paged[0].startswith("agent")


async def test_an_out_of_scope_ticket_is_recorded_but_not_measured(harness: Harness) -> None:
    _seed(harness)
    handle = await _open(harness, "globex", service="Fax gateway")
    view = await harness.state(handle)
    assert view.agreement_id == "globex-hosting"
    assert not view.measured and view.targets == []
    assert view.unmeasured_reason == "service 'Fax gateway' is excluded by the agreement"
    await harness.env.sleep(3 * 60 * M)  # far past every target and ack window
    view = await harness.state(handle)
    assert view.tier is Tier.AGENT and not view.breached
    kinds = [e.kind for e in view.events]
    assert EventKind.BREACH not in kinds and EventKind.ESCALATED not in kinds
    assert EventKind.WARNING not in kinds
    await harness.update(handle, "resolve", Resolve(actor="agent1"))
    outcome = await handle.result()
    assert outcome.facts.agreement_id == "globex-hosting" and not outcome.facts.measured
    with Session(harness.engine) as session:
        row = session.get(TicketFactRow, view.ticket_id)
    assert row is not None and row.measured is False and row.agreement_id == "globex-hosting"


async def test_a_new_version_of_one_agreement_never_moves_anothers_ticket(
    harness: Harness,
) -> None:
    _seed(harness)
    acme = await _open(harness, "acme")
    default = await _open(harness, "Someone Else")
    agreement_store.add_version(
        harness.engine,
        make_agreement(),
        agreement_id="acme-gold",
        effective_from=agreement_store.EPOCH,
        source="test",
    )
    move = AdoptTerms(actor="x", agreement_version=2, agreement_id="acme-gold")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.update(default, "adopt_terms", move)
    assert "ticket is under agreement default, not acme-gold" in str(refused.value.cause)
    moved = await harness.update(acme, "adopt_terms", move)
    assert (moved.agreement_id, moved.agreement_version) == ("acme-gold", 2)
    assert moved.targets[0].within_seconds == 600  # the new acme version's 10m
    assert (await harness.state(default)).agreement_version == 1
