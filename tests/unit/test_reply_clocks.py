"""Next-reply and periodic-update clocks, worked by hand: 24x7, pauses and business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slaflow import ticket_machine as machine
from slaflow.agreement import Agreement
from slaflow.tickets import (
    Acknowledge,
    ChangePriority,
    CustomerMessage,
    EventKind,
    NoticeKind,
    Pause,
    Reply,
    Resolve,
    Respond,
    Resume,
    TargetKind,
    TicketRuntime,
)
from slaflow.tiers import Tier
from tests.factories import T0, agreement_doc, make_agreement, make_terms, make_ticket
from tests.unit.test_business_hours_tickets import BERLIN_OFFICE
from tests.unit.test_ticket_machine import run_until

M = timedelta(minutes=1)
H = timedelta(hours=1)
ALL_WAITING = ["resolution", "next_reply", "periodic_update"]


def reply_doc(**overrides: Any) -> dict[str, Any]:
    """P1: next reply within 20m (agent warned at 50 %), an update at least every 30m; P2
    measures neither; P3 counts Berlin office hours with a 2h next reply."""
    doc = agreement_doc(calendars={"berlin-office": BERLIN_OFFICE}, **overrides)
    p1 = doc["objectives"]["P1"]
    p1["next_reply"] = {"within": "20m", "warnings": [{"at_percent": 50, "notify": "agent"}]}
    p1["periodic_update"] = {"within": "30m"}
    p3 = doc["objectives"]["P3"]
    p3["calendar"] = "berlin-office"
    p3["next_reply"] = {"within": "2h"}
    p3["resolution"]["within"] = "40h"
    return doc


def opened(at: datetime = T0, priority: str = "P1", **overrides: Any) -> TicketRuntime:
    terms = make_terms(Agreement.model_validate(reply_doc(**overrides)))
    rt, _ = machine.open_ticket(make_ticket(priority=priority), terms, at, at)
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="agent-1"), at)
    return rt


def do(rt: TicketRuntime, name: str, command: Any, at: datetime) -> None:
    assert machine.refusal(rt, name, command) is None
    machine.apply_command(rt, name, command, at)


def deadline(rt: TicketRuntime, kind: TargetKind, now: datetime) -> datetime | None:
    view = machine.view(rt, now)
    return next(t.deadline for t in view.targets if t.kind is kind)


def test_a_customer_message_starts_the_reply_clock_and_the_agents_reply_meets_it() -> None:
    rt = opened()
    do(rt, "respond", Respond(actor="agent-1"), T0 + 2 * M)
    assert rt.current(TargetKind.NEXT_REPLY) is None  # nothing waits for an answer yet
    # the first response starts the periodic update: due 30m later
    assert deadline(rt, TargetKind.PERIODIC_UPDATE, T0 + 2 * M) == T0 + 32 * M
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 5 * M)
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 5 * M) == T0 + 25 * M
    # a second message while the first waits: the oldest unanswered message sets the pace
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 9 * M)
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 9 * M) == T0 + 25 * M
    do(rt, "reply", Reply(actor="agent-1", note="looking"), T0 + 12 * M)
    clock = rt.current(TargetKind.NEXT_REPLY)
    assert clock is not None and clock.met_at == T0 + 12 * M and clock.breached_at is None
    # the reply is an update too: the periodic clock starts again from it
    assert deadline(rt, TargetKind.PERIODIC_UPDATE, T0 + 12 * M) == T0 + 42 * M
    kinds = [e.kind for e in rt.events]
    assert EventKind.CUSTOMER_MESSAGE in kinds and EventKind.REPLIED in kinds


def test_pauses_hold_the_reply_and_update_clocks_when_the_agreement_says_so() -> None:
    rt = opened(pauses={"waiting_on_customer": ALL_WAITING, "waiting_on_third_party": []})
    do(rt, "respond", Respond(actor="agent-1"), T0 + 8 * M)  # update due +38
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 10 * M)
    do(rt, "pause", Pause(actor="agent-1"), T0 + 12 * M)  # reply due +30 before the pause
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 15 * M) is None
    do(rt, "resume", Resume(actor="agent-1"), T0 + 22 * M)  # 10m paused
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 22 * M) == T0 + 40 * M
    assert deadline(rt, TargetKind.PERIODIC_UPDATE, T0 + 22 * M) == T0 + 48 * M


def test_a_message_while_waiting_starts_a_paused_reply_clock() -> None:
    rt = opened(pauses={"waiting_on_customer": ALL_WAITING, "waiting_on_third_party": []})
    do(rt, "pause", Pause(actor="agent-1"), T0 + 3 * M)
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 4 * M)
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 5 * M) is None
    do(rt, "resume", Resume(actor="agent-1"), T0 + 14 * M)
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 14 * M) == T0 + 34 * M


def test_by_default_waiting_does_not_stop_the_reply_clock() -> None:
    rt = opened()
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 4 * M)
    do(rt, "pause", Pause(actor="agent-1"), T0 + 5 * M)
    assert deadline(rt, TargetKind.NEXT_REPLY, T0 + 6 * M) == T0 + 24 * M


def test_business_hours_carry_a_friday_message_over_the_weekend() -> None:
    friday = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # 16:30 in Berlin, half an hour left
    rt = opened(friday, priority="P3")
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), friday)
    # 30m on Friday, 1h30 from Monday 09:00 Berlin: 10:30 CET = 09:30 UTC
    assert deadline(rt, TargetKind.NEXT_REPLY, friday) == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def test_business_hours_and_a_pause_add_up() -> None:
    monday = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    rt = opened(monday, priority="P3", pauses={"waiting_on_customer": ALL_WAITING})
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), monday)
    do(rt, "pause", Pause(actor="agent-1"), monday + H)  # 10:00-11:00 Berlin waiting
    do(rt, "resume", Resume(actor="agent-1"), monday + 2 * H)
    # 2h of office time plus the hour paused: 12:00 Berlin = 11:00 UTC
    assert deadline(rt, TargetKind.NEXT_REPLY, monday + 2 * H) == monday + 3 * H


def test_an_unanswered_message_warns_then_breaches_and_escalates() -> None:
    rt = opened()
    do(rt, "respond", Respond(actor="agent-1"), T0 + 2 * M)
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 5 * M)
    sent = run_until(rt, T0 + 26 * M)
    assert (T0 + 15 * M, NoticeKind.WARNING.value, Tier.AGENT) in sent
    assert (T0 + 25 * M, NoticeKind.ESCALATION.value, Tier.TEAM_LEAD) in sent
    breach = next(e for e in rt.events if e.kind is EventKind.BREACH)
    assert breach.detail.startswith("next reply target of 20m breached")
    assert rt.breached
    # the late reply meets it late; the next message replaces it and the breach still counts
    do(rt, "reply", Reply(actor="agent-1"), T0 + 27 * M)
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 29 * M)
    clock = rt.current(TargetKind.NEXT_REPLY)
    assert clock is not None and clock.breached_at is None and clock.started_at == T0 + 29 * M
    assert rt.breached and rt.past_breaches == 1


def test_a_missed_periodic_update_breaches_like_any_target() -> None:
    rt = opened()
    do(rt, "respond", Respond(actor="agent-1"), T0 + 2 * M)
    do(rt, "reply", Reply(actor="agent-1"), T0 + 20 * M)  # update due +50
    sent = run_until(rt, T0 + 51 * M)
    assert (T0 + 50 * M, NoticeKind.ESCALATION.value, Tier.TEAM_LEAD) in sent
    breach = next(e for e in rt.events if e.kind is EventKind.BREACH)
    assert breach.detail.startswith("periodic update target of 30m breached")


def test_reply_before_any_response_is_the_first_response() -> None:
    rt = opened()
    do(rt, "reply", Reply(actor="agent-1"), T0 + 3 * M)
    assert rt.target(TargetKind.FIRST_RESPONSE).met_at == T0 + 3 * M
    assert machine.refusal(rt, "respond", Respond(actor="agent-1")) is not None


def test_resolve_stops_every_clock_and_a_resolved_ticket_refuses_messages() -> None:
    rt = opened()
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 3 * M)
    do(rt, "resolve", Resolve(actor="agent-1"), T0 + 6 * M)
    assert all(t.met_at == T0 + 6 * M for t in rt.targets)
    reason = machine.refusal(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"))
    assert reason is not None and "reopen it first" in reason


def test_a_priority_without_reply_targets_drops_the_running_clocks() -> None:
    rt = opened()
    do(rt, "respond", Respond(actor="agent-1"), T0 + 2 * M)
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 3 * M)
    do(rt, "change_priority", ChangePriority(actor="lead-1", priority="P2"), T0 + 4 * M)
    assert {t.kind for t in rt.targets} == {TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION}
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + 5 * M)
    assert rt.current(TargetKind.NEXT_REPLY) is None  # P2 does not measure it


def test_an_agreement_without_reply_targets_runs_only_the_two_clocks() -> None:
    terms = make_terms(make_agreement())
    rt, _ = machine.open_ticket(make_ticket(), terms, T0, T0)
    do(rt, "customer_message", CustomerMessage(actor="buyer@acme.example"), T0 + M)
    do(rt, "reply", Reply(actor="agent-1"), T0 + 2 * M)
    assert [t.kind for t in rt.targets] == [TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION]
