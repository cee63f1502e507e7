"""Waits and priority changes survive the facts table on their way to the amendment what-if."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from activities.amendments import closed_tickets
from activities.facts import upsert_facts
from slaflow import ticket_machine as machine
from slaflow.tickets import ChangePriority, Pause, Resolve, Resume
from slaflow.tiers import Priority
from tests.factories import T0, make_terms, make_ticket

M = timedelta(minutes=1)


def test_a_closed_tickets_waits_and_priority_changes_come_back(engine: Engine) -> None:
    rt, _ = machine.open_ticket(make_ticket("W-1", priority="P3"), make_terms(), T0, T0)
    for offset, name, command in [
        (5 * M, "change_priority", ChangePriority(actor="a", priority=Priority.P2)),
        (10 * M, "pause", Pause(actor="a")),
        (25 * M, "resume", Resume(actor="a")),
        (40 * M, "resolve", Resolve(actor="a")),
    ]:
        machine.apply_command(rt, name, command, T0 + offset)
    due = machine.next_due(rt, T0 + 3 * 60 * M)
    assert due is not None
    machine.apply_due(rt, due, T0 + 3 * 60 * M)  # the reopen window ends: closed
    upsert_facts(engine, machine.facts(rt))
    (ticket,) = closed_tickets(engine, T0, T0 + 24 * 60 * M)
    assert [(w.start, w.end, w.status) for w in ticket.waits] == [
        (T0 + 10 * M, T0 + 25 * M, "waiting_on_customer")
    ]
    assert [(c.at, c.old, c.new) for c in ticket.priority_changes] == [
        (T0 + 5 * M, Priority.P3, Priority.P2)
    ]
