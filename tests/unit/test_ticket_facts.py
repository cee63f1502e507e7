"""What ticket facts keep for reports: pauses, re-pauses, counted seconds, per-tier acks."""

from __future__ import annotations

from datetime import timedelta

from slaflow import ticket_machine as machine
from slaflow.tickets import (
    Acknowledge,
    Escalate,
    Pause,
    Reopen,
    Resolve,
    Respond,
    Resume,
    TicketFacts,
    TicketRuntime,
)
from slaflow.tiers import Tier
from tests.factories import T0, make_terms, make_ticket

M = timedelta(minutes=1)


def opened() -> TicketRuntime:
    rt, _ = machine.open_ticket(make_ticket(priority="P2"), make_terms(), T0, T0)
    return rt


def test_pauses_quick_repause_counted_seconds_and_reopen() -> None:
    rt = opened()  # P2: respond within 20m, resolve within 120m, 24x7
    steps = [
        (1, "acknowledge", Acknowledge(actor="a")),
        (3, "respond", Respond(actor="a")),
        (10, "pause", Pause(actor="a")),  # waits 20 minutes
        (30, "resume", Resume(actor="customer")),
        (34, "pause", Pause(actor="a")),  # 4 minutes after the customer's reply
        (40, "resume", Resume(actor="customer")),
        (60, "resolve", Resolve(actor="a")),
        (70, "reopen", Reopen(actor="customer", reason="still broken")),
        (75, "pause", Pause(actor="a")),  # after a reopen, not a resume: no gap
        (85, "resolve", Resolve(actor="a")),  # resolving ends the pause
    ]
    for minute, name, command in steps:
        assert machine.refusal(rt, name, command) is None, name
        machine.apply_command(rt, name, command, T0 + minute * M)

    facts = machine.facts(rt)
    assert facts.pauses == 3
    assert facts.paused_seconds == (20 + 6 + 10) * 60
    assert facts.repause_gaps_seconds == [4 * 60]
    assert facts.first_response_seconds == 3 * 60
    # resolution clock: 85 minutes open, minus 20 + 6 + 10 paused, minus 10 resolved-until-reopen
    assert facts.resolution_seconds == (85 - 36 - 10) * 60
    assert facts.resolved_tier is Tier.AGENT
    assert facts.tier_ack_seconds == {Tier.AGENT: 60.0}
    assert facts.reopen_count == 1 and facts.resolved_at == T0 + 85 * M


def test_each_tier_acknowledgement_counts_from_its_first_page() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), T0 + 2 * M)
    machine.apply_command(rt, "escalate", Escalate(actor="a", reason="needs a lead"), T0 + 4 * M)
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="lead"), T0 + 7 * M)
    machine.apply_command(rt, "escalate", Escalate(actor="l", reason="expert"), T0 + 8 * M)
    machine.apply_command(rt, "resolve", Resolve(actor="s"), T0 + 9 * M)

    facts = machine.facts(rt)
    assert facts.tier_ack_seconds == {Tier.AGENT: 120.0, Tier.TEAM_LEAD: 180.0}
    assert facts.resolved_tier is Tier.SPECIALIST and facts.highest_tier is Tier.SPECIALIST
    assert facts.pauses == 0 and facts.paused_seconds == 0 and facts.repause_gaps_seconds == []


def test_open_ticket_has_no_resolution_figures() -> None:
    rt = opened()
    machine.apply_command(rt, "pause", Pause(actor="a"), T0 + 5 * M)
    facts = machine.facts(rt)
    assert facts.resolved_tier is None and facts.resolution_seconds is None
    assert facts.first_response_seconds is None
    assert facts.pauses == 1 and facts.paused_seconds == 0  # nothing later is known yet


def test_facts_written_before_the_new_fields_still_parse() -> None:
    old = machine.facts(opened()).model_dump(mode="json")
    for name in (
        "paused_seconds",
        "pauses",
        "repause_gaps_seconds",
        "first_response_seconds",
        "resolution_seconds",
        "resolved_tier",
        "tier_ack_seconds",
    ):
        del old[name]
    facts = TicketFacts.model_validate(old)
    assert facts.pauses == 0 and facts.tier_ack_seconds == {} and facts.resolved_tier is None
