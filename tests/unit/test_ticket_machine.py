"""The ticket's rules without Temporal: the clock, the ladder, commands and their refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaflow import ticket_machine as machine
from slaflow.ticket_machine import DueKind
from slaflow.tickets import (
    Acknowledge,
    AddComment,
    AdoptTerms,
    ChangePriority,
    Escalate,
    EventKind,
    NoticeKind,
    Reopen,
    Resolve,
    Respond,
    TicketRuntime,
    TicketStatus,
)
from slaflow.tiers import Priority, Tier
from tests.factories import T0, agreement_doc, make_agreement, make_terms, make_ticket

M = timedelta(minutes=1)


def opened(priority: str = "P1") -> TicketRuntime:
    rt, notices = machine.open_ticket(make_ticket(priority=priority), make_terms(), T0, T0)
    assert [n.kind for n in notices] == [NoticeKind.NEW_TICKET]
    return rt


def run_until(rt: TicketRuntime, until: datetime) -> list[tuple[datetime, str, Tier]]:
    """Drive the clock like the workflow does; returns (when, notice kind, tier)."""
    sent = []
    now = rt.events[-1].at
    while (due := machine.next_due(rt, now)) is not None and due.at <= until:
        if due.at > now:
            now = due.at  # the timer fires; look again with the new time
            continue
        for notice in machine.apply_due(rt, due, now):
            sent.append((now, notice.kind.value, notice.tier))
    return sent


def test_new_ticket_pages_one_agent_round_robin_and_pins_targets() -> None:
    rt = opened()
    assert rt.tier is Tier.AGENT and len(rt.page.contacts) == 1
    view = machine.view(rt, T0)
    assert [t.deadline for t in view.targets] == [T0 + 10 * M, T0 + 60 * M]
    assert view.status is TicketStatus.OPEN and view.agreement_version == 1


def test_unacknowledged_ticket_climbs_the_whole_ladder_then_repages_management() -> None:
    rt = opened()
    sent = run_until(rt, T0 + 200 * M)
    # ack windows 5m each: lead at 5, specialist at 10 (also when the response target breaches),
    # management at 15, then re-paged every 10m twice (repeat_limit 2)
    escalations = [(at - T0, tier) for at, kind, tier in sent if kind == "escalation"]
    assert escalations == [
        (5 * M, Tier.TEAM_LEAD),
        (10 * M, Tier.SPECIALIST),
        (15 * M, Tier.MANAGEMENT),
    ]
    repages = [at - T0 for at, kind, _ in sent if kind == "repeat_page"]
    assert repages == [25 * M, 35 * M]
    assert rt.highest_tier is Tier.MANAGEMENT
    assert rt.target(machine.TargetKind.FIRST_RESPONSE).breached_at == T0 + 10 * M
    assert rt.page.repeat == 2
    # management's two contacts take turns
    assert len({c.email for c in rt.page.contacts}) == 1


def test_breach_goes_before_its_own_warnings_when_both_are_overdue() -> None:
    rt = opened()
    due = machine.next_due(rt, T0)
    assert due is not None and due.kind is DueKind.WARNING  # 50 % warning at 5m
    # a worker that was down until after the breach sends the breach, not stale warnings
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="agent1@example.com"), T0)
    late = T0 + 11 * M
    first = machine.next_due(rt, late)
    assert first is not None and first.kind is DueKind.BREACH and first.at <= late
    notices = machine.apply_due(rt, first, late)
    assert [n.kind for n in notices] == [NoticeKind.ESCALATION]
    assert all(
        d.kind is not DueKind.WARNING or d.target is not machine.TargetKind.FIRST_RESPONSE
        for d in machine.upcoming(rt)
    )


def test_of_several_overdue_warnings_only_the_highest_is_sent() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), T0)
    late = T0 + 9 * M  # 50 % (5m) and 80 % (8m) are both overdue, the breach (10m) is not
    due = machine.next_due(rt, late)
    assert due is not None and due.warning is not None and due.warning.at_percent == 80
    machine.apply_due(rt, due, late)
    nxt = machine.next_due(rt, late)
    assert nxt is not None and nxt.kind is DueKind.BREACH and nxt.at == T0 + 10 * M


def test_warnings_fire_at_their_percentages_to_their_tiers() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), T0)
    sent = run_until(rt, T0 + 9 * M)
    assert [(at - T0, kind, tier) for at, kind, tier in sent] == [
        (5 * M, "warning", Tier.AGENT),
        (8 * M, "warning", Tier.TEAM_LEAD),
    ]


def test_acknowledge_stops_the_ladder_and_starts_reminders() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="agent1@example.com"), T0 + M)
    machine.apply_command(rt, "respond", Respond(actor="agent1@example.com"), T0 + 2 * M)
    sent = run_until(rt, T0 + 40 * M)
    kinds = [(at - T0, kind) for at, kind, _ in sent]
    assert kinds == [(16 * M, "reminder"), (31 * M, "reminder")]
    assert rt.tier is Tier.AGENT and rt.status is TicketStatus.ACKNOWLEDGED


def test_resolution_breach_after_acknowledgement_still_escalates_and_needs_a_new_ack() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), T0)
    machine.apply_command(rt, "respond", Respond(actor="a"), T0 + M)
    run_until(rt, T0 + 61 * M)
    assert rt.tier is Tier.TEAM_LEAD and rt.status is TicketStatus.OPEN
    assert rt.page.acknowledged_at is None
    assert rt.target(machine.TargetKind.RESOLUTION).breached_at == T0 + 60 * M


def test_resolve_stops_both_clocks_and_closes_after_the_reopen_window() -> None:
    rt = opened()
    machine.apply_command(rt, "resolve", Resolve(actor="a", note="fixed"), T0 + 3 * M)
    view = machine.view(rt, T0 + 3 * M)
    assert [t.status for t in view.targets] == ["met", "met"]
    due = machine.next_due(rt, T0 + 3 * M)
    assert due is not None and due.kind is DueKind.CLOSE and due.at == T0 + 63 * M
    machine.apply_due(rt, due, due.at)
    assert rt.status is TicketStatus.CLOSED
    assert machine.next_due(rt, T0 + 99 * M) is None


def test_reopen_does_not_count_the_resolved_time() -> None:
    rt = opened()
    machine.apply_command(rt, "resolve", Resolve(actor="a"), T0 + 20 * M)
    machine.apply_command(rt, "reopen", Reopen(actor="b", reason="still broken"), T0 + 50 * M)
    view = machine.view(rt, T0 + 50 * M)
    resolution = view.targets[1]
    assert resolution.deadline == T0 + 90 * M  # 60m target + 30m resolved
    assert resolution.remaining_seconds == 40 * 60
    assert rt.reopen_count == 1 and rt.status is TicketStatus.OPEN


def test_priority_change_recomputes_from_opening_and_keeps_breaches() -> None:
    rt = opened("P3")  # 40m response
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), T0)
    machine.apply_command(
        rt, "change_priority", ChangePriority(actor="lead", priority=Priority.P1), T0 + 12 * M
    )
    # P1's 10m response target is already past: it breaches at its recomputed deadline
    due = machine.next_due(rt, T0 + 12 * M)
    assert due is not None and due.kind is DueKind.BREACH and due.at == T0 + 10 * M
    # and its warnings (50 %, 80 %), already behind the clock, are not sent late
    assert rt.target(machine.TargetKind.FIRST_RESPONSE).warnings_fired == [50, 80]
    machine.apply_due(rt, due, T0 + 12 * M)
    machine.apply_command(
        rt, "change_priority", ChangePriority(actor="lead", priority=Priority.P4), T0 + 13 * M
    )
    assert rt.target(machine.TargetKind.FIRST_RESPONSE).breached_at == T0 + 10 * M


@pytest.mark.parametrize(
    ("name", "command", "setup", "reason"),
    [
        ("resolve", Resolve(actor="x"), ["resolve"], "already resolved"),
        ("acknowledge", Acknowledge(actor="x"), ["acknowledge"], "already acknowledged by x"),
        ("respond", Respond(actor="x"), ["respond"], "first response was already recorded"),
        ("reopen", Reopen(actor="x", reason="r"), [], "is not resolved"),
        ("change_priority", ChangePriority(actor="x", priority=Priority.P1), [], "already has"),
        ("escalate", Escalate(actor="x", reason="r"), ["escalate"] * 3, "top of the ladder"),
    ],
)
def test_refusals_say_why(name: str, command, setup: list[str], reason: str) -> None:
    rt = opened()
    samples = {
        "resolve": Resolve(actor="x"),
        "acknowledge": Acknowledge(actor="x"),
        "respond": Respond(actor="x"),
        "escalate": Escalate(actor="x", reason="manual"),
    }
    for step in setup:
        assert machine.refusal(rt, step, samples[step]) is None
        machine.apply_command(rt, step, samples[step], T0)
    refused = machine.refusal(rt, name, command)
    assert refused is not None and reason in refused


def test_comment_is_accepted_on_a_resolved_ticket_and_recorded_with_actor() -> None:
    rt = opened()
    machine.apply_command(rt, "resolve", Resolve(actor="x"), T0)
    assert machine.refusal(rt, "comment", AddComment(actor="cs", text="thanks")) is None
    machine.apply_command(rt, "comment", AddComment(actor="cs", text="thanks"), T0 + M)
    last = rt.events[-1]
    assert (last.kind, last.actor, last.detail) == (EventKind.COMMENTED, "cs", "thanks")


def test_manual_escalation_records_who_and_why() -> None:
    rt = opened()
    notices = machine.apply_command(rt, "escalate", Escalate(actor="a1", reason="VIP"), T0 + M)
    assert rt.tier is Tier.TEAM_LEAD
    assert notices[0].inform_tiers == [Tier.AGENT]
    event = rt.events[-1]
    assert event.kind is EventKind.ESCALATED and event.actor == "a1" and "VIP" in event.detail


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30),
            st.sampled_from(["acknowledge", "respond", "resolve", "reopen", "escalate", "tick"]),
        ),
        max_size=12,
    )
)
def test_any_command_sequence_keeps_the_ticket_consistent(steps) -> None:
    """Whatever happens, in whatever order: time never runs backwards in the history, the
    highest tier is never below the current one, and a closed ticket has nothing due."""
    rt = opened()
    now = T0
    commands = {
        "acknowledge": Acknowledge(actor="p"),
        "respond": Respond(actor="p"),
        "resolve": Resolve(actor="p"),
        "reopen": Reopen(actor="p", reason="again"),
        "escalate": Escalate(actor="p", reason="help"),
    }
    for minutes, name in steps:
        now += timedelta(minutes=minutes)
        while (due := machine.next_due(rt, now)) is not None and due.at <= now:
            machine.apply_due(rt, due, now)
        accepted = name != "tick" and machine.refusal(rt, name, commands[name]) is None
        if accepted:
            machine.apply_command(rt, name, commands[name], now)
        assert rt.highest_tier.rank >= rt.tier.rank
        assert [e.at for e in rt.events] == sorted(e.at for e in rt.events)
        if rt.status is TicketStatus.CLOSED:
            assert machine.next_due(rt, now) is None
        for target in machine.view(rt, now).targets:
            assert target.status in {"running", "paused", "met", "breached", "met_late"}


def test_reminders_find_an_owner_named_the_way_slack_actors_are() -> None:
    rt = opened()
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="lead-1 <lead1@example.com>"), T0)
    machine.apply_command(rt, "respond", Respond(actor="lead-1 <lead1@example.com>"), T0)
    sent = []
    now = T0 + 15 * M
    while (due := machine.next_due(rt, now)) is not None and due.at <= now:
        sent += machine.apply_due(rt, due, now)
    reminders = [n for n in sent if n.kind is NoticeKind.REMINDER]
    assert [c.email for c in reminders[0].recipients] == ["lead1@example.com"]


def test_adopting_newer_terms_recomputes_open_targets_from_the_opening() -> None:
    rt = opened()
    machine.apply_command(rt, "respond", Respond(actor="a"), T0 + 12 * M)
    doc = agreement_doc()
    doc["objectives"]["P1"]["resolution"]["within"] = "2h"
    doc["objectives"]["P1"]["first_response"]["within"] = "30m"
    newer = make_terms(make_agreement(**doc), version=2)
    assert machine.refusal(rt, "adopt_terms", AdoptTerms(actor="x", agreement_version=2)) is None
    machine.adopt_terms(rt, newer, "amendment A-1", T0 + 20 * M)
    view = machine.view(rt, T0 + 20 * M)
    assert view.agreement_version == 2
    assert view.targets[1].deadline == T0 + 120 * M  # from the opening, not from now
    assert view.targets[0].within_seconds == 600  # a met target keeps the terms it was met under
    assert rt.events[-1].kind is EventKind.TERMS_CHANGED
    refused = machine.refusal(rt, "adopt_terms", AdoptTerms(actor="x", agreement_version=2))
    assert refused == "ticket is already on agreement version 2"
