"""The amendment what-if counts waits and priority changes the way the clocks do: a seeded set
worked by hand, and the facts that carry them."""

from __future__ import annotations

from datetime import datetime, timedelta

from slaflow import amendments as rules
from slaflow import ticket_machine as machine
from slaflow.amendments import ClosedTicket
from slaflow.tickets import (
    Acknowledge,
    ChangePriority,
    Pause,
    PriorityChange,
    Reopen,
    Resolve,
    Respond,
    Resume,
    Wait,
)
from slaflow.tiers import Channel, Priority, Tier
from slaflow.what_if import escalations_under
from tests.factories import T0, make_agreement, make_terms, make_ticket

M = timedelta(minutes=1)
AGREEMENT = make_agreement()  # P1: respond 10m, resolve 60m; P3: 40m, 4h; waits stop resolution
CALENDARS = make_terms(AGREEMENT).calendars

# A: P1, responded at 5, waited on the customer 20..50, resolved at 80. Without the wait its
#    resolution (due 60) looks missed; the clock counted 50 minutes: due 90, met.
WAITED = ClosedTicket(
    ticket_id="A",
    priority=Priority.P1,
    channel=Channel.EMAIL,
    opened_at=T0,
    acknowledged_at=T0 + M,
    first_response_at=T0 + 5 * M,
    resolved_at=T0 + 80 * M,
    waits=[Wait(start=T0 + 20 * M, end=T0 + 50 * M, status="waiting_on_customer")],
)
# B: opened P3, responded at 30 (P3: due 40, met), raised to P1 at 35, resolved at 90. Judged
#    on its final priority alone the response looks missed (P1: due 10); the clock had met it.
#    The resolution took P1's 60m from opening: due 60, missed at 90.
RAISED = ClosedTicket(
    ticket_id="B",
    priority=Priority.P1,
    channel=Channel.EMAIL,
    opened_at=T0,
    acknowledged_at=T0 + M,
    first_response_at=T0 + 30 * M,
    resolved_at=T0 + 90 * M,
    priority_changes=[PriorityChange(at=T0 + 35 * M, old=Priority.P3, new=Priority.P1)],
)


def test_deadlines_deduct_the_wait_and_take_the_priority_in_force() -> None:
    assert rules.deadlines(WAITED, AGREEMENT, CALENDARS) == (T0 + 10 * M, T0 + 90 * M)
    assert rules.deadlines(RAISED, AGREEMENT, CALENDARS) == (T0 + 40 * M, T0 + 60 * M)


def test_compliance_of_the_seeded_set() -> None:
    first, resolution = rules.compliance([WAITED, RAISED], AGREEMENT, CALENDARS)[Priority.P1]
    assert (first.met, first.total) == (2, 2)
    assert (resolution.met, resolution.total) == (1, 2)


def test_pause_rules_of_the_version_decide_what_a_wait_stops() -> None:
    strict = make_agreement(pauses={"waiting_on_customer": [], "waiting_on_third_party": []})
    calendars = make_terms(strict).calendars
    assert rules.deadlines(WAITED, strict, calendars)[1] == T0 + 60 * M


def test_the_replay_waits_with_the_ticket() -> None:
    terms = make_terms(AGREEMENT)
    fields = {
        "ticket_id": "A",
        "priority": Priority.P1,
        "channel": Channel.EMAIL,
        "opened_at": T0,
        "acknowledged_at": T0 + M,
        "first_response_at": T0 + 5 * M,
        "resolved_at": T0 + 80 * M,
    }
    assert escalations_under(terms, **fields, waits=WAITED.waits) == {}  # type: ignore[arg-type]
    blind = escalations_under(terms, **fields)  # type: ignore[arg-type]
    assert blind[Tier.TEAM_LEAD] == 1  # the resolution "breached" at 60


def test_facts_carry_waits_and_priority_changes() -> None:
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), make_terms(AGREEMENT), T0, T0)
    steps = [
        (M, "acknowledge", Acknowledge(actor="a")),
        (30 * M, "respond", Respond(actor="a")),
        (35 * M, "change_priority", ChangePriority(actor="a", priority=Priority.P1)),
        (40 * M, "pause", Pause(actor="a", status="waiting_on_third_party")),
        (45 * M, "resume", Resume(actor="a")),
        (50 * M, "resolve", Resolve(actor="a")),
        (55 * M, "reopen", Reopen(actor="a", reason="again")),
        (58 * M, "resolve", Resolve(actor="a")),
    ]
    for offset, name, command in steps:
        assert machine.refusal(rt, name, command) is None
        machine.apply_command(rt, name, command, T0 + offset)
    facts = machine.facts(rt)
    assert [(w.start - T0, w.end - T0, w.status) for w in facts.waits] == [
        (40 * M, 45 * M, "waiting_on_third_party"),
        (50 * M, 55 * M, "resolved"),
    ]
    assert facts.priority_changes == [
        PriorityChange(at=T0 + 35 * M, old=Priority.P3, new=Priority.P1)
    ]
    closed = ClosedTicket(
        ticket_id="T-1",
        priority=facts.priority,
        channel=facts.channel,
        opened_at=facts.opened_at,
        first_response_at=facts.first_response_at,
        resolved_at=facts.resolved_at,
        waits=facts.waits,
        priority_changes=facts.priority_changes,
    )
    # resolution on P1 (60m) plus 5m waiting on the third party and 5m resolved: due 70
    assert rules.deadlines(closed, AGREEMENT, CALENDARS)[1] == T0 + 70 * M
    assert isinstance(facts.waits[0].start, datetime)
