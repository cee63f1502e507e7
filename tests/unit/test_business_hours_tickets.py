"""Tickets on real agreements: business calendars, channels' hours, pauses, people's hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slaflow import ticket_machine as machine
from slaflow.ticket_machine import DueKind
from slaflow.tickets import (
    Acknowledge,
    EventKind,
    Pause,
    Resolve,
    Resume,
    TargetKind,
    TicketRuntime,
    TicketStatus,
)
from slaflow.tiers import Tier
from tests.factories import T0, agreement_doc, make_agreement, make_terms, make_ticket

M = timedelta(minutes=1)
H = timedelta(hours=1)
BERLIN_OFFICE = {
    "time_zone": "Europe/Berlin",
    "weekly_hours": {d: ["09:00-17:00"] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                  "friday")},
    "holiday_country": "DE",
    "holiday_subdivision": "NW",
}  # fmt: skip


def business_agreement(**overrides: Any) -> dict[str, Any]:
    doc = agreement_doc(calendars={"berlin-office": BERLIN_OFFICE}, **overrides)
    doc["objectives"]["P3"]["calendar"] = "berlin-office"
    doc["objectives"]["P3"]["resolution"]["within"] = "8h"
    return doc


def open_at(opened: datetime, priority: str = "P3", doc: dict[str, Any] | None = None,
            channel: str = "email") -> TicketRuntime:  # fmt: skip
    terms = make_terms(make_agreement(**(doc or business_agreement())))
    rt, _ = machine.open_ticket(make_ticket(priority=priority, channel=channel), terms, opened,
                                opened)  # fmt: skip
    return rt


def test_friday_evening_p3_is_due_monday_and_after_easter_on_tuesday() -> None:
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # 17:30 in Berlin
    view = machine.view(open_at(friday), friday)
    assert view.targets[1].deadline == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # Mon 17:00 CET
    assert view.targets[1].deadline_local is not None
    assert view.targets[1].deadline_local.isoformat() == "2026-03-09T17:00:00+01:00"
    before_easter = datetime(2026, 4, 3, 15, 30, tzinfo=UTC)  # Good Friday, a holiday in NW
    view = machine.view(open_at(before_easter), before_easter)
    # Good Friday and Easter Monday are off: Tuesday 7 April 17:00 CEST
    assert view.targets[1].deadline == datetime(2026, 4, 7, 15, 0, tzinfo=UTC)


def test_targets_count_in_the_channels_hours_unless_the_priority_names_a_calendar() -> None:
    doc = business_agreement()
    doc["channels"] = [{"channel": "phone", "hours": "berlin-office"}, {"channel": "email"}]
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)
    by_phone = open_at(friday, "P1", doc, "phone")  # P1 names no calendar: the phone's hours
    by_email = open_at(friday, "P1", doc, "email")  # email is 24x7
    assert by_phone.targets[0].calendar == "berlin-office"
    assert machine.view(by_phone, friday).targets[0].deadline == datetime(
        2026, 3, 9, 8, 10, tzinfo=UTC
    )
    assert machine.view(by_email, friday).targets[0].deadline == friday + 10 * M


def test_waiting_on_customer_stops_the_resolution_clock_and_the_ladder() -> None:
    rt = open_at(T0, "P1", agreement_doc())
    machine.apply_command(rt, "respond", machine.Respond(actor="a"), T0 + M)
    machine.apply_command(rt, "pause", Pause(actor="a", note="asked for logs"), T0 + 10 * M)
    assert rt.status is TicketStatus.WAITING_ON_CUSTOMER
    # nothing is due while waiting: no resolution warning, no breach, no lapse of the page
    assert machine.next_due(rt, T0 + 10 * H) is None
    view = machine.view(rt, T0 + 70 * M)
    assert view.targets[1].status == "paused" and view.targets[1].deadline is None
    assert view.targets[1].paused_seconds == 60 * 60
    machine.apply_command(rt, "resume", Resume(actor="customer"), T0 + 70 * M)
    view = machine.view(rt, T0 + 70 * M)
    assert view.targets[1].deadline == T0 + 120 * M  # 60m target + 60m waited
    assert view.targets[1].remaining_seconds == 50 * 60
    # the agent's ack window (5m) does not count the wait: it lapses 5m after the page, not now
    due = machine.next_due(rt, T0 + 70 * M)
    assert due is not None and due.kind is DueKind.PAGE_LAPSE and due.at == T0 + 65 * M


def test_first_response_keeps_running_while_waiting() -> None:
    rt = open_at(T0, "P1", agreement_doc())
    machine.apply_command(rt, "pause", Pause(actor="a"), T0 + M)
    due = machine.next_due(rt, T0 + M)
    assert due is not None and due.target is TargetKind.FIRST_RESPONSE


def test_pause_and_resume_refusals() -> None:
    rt = open_at(T0, "P1", agreement_doc())
    assert machine.refusal(rt, "resume", Resume(actor="a")) == "ticket is not waiting on anyone"
    machine.apply_command(rt, "pause", Pause(actor="a"), T0)
    refused = machine.refusal(rt, "pause", Pause(actor="a", status="waiting_on_third_party"))
    assert refused is not None and "already waiting on customer" in refused
    machine.apply_command(rt, "resolve", Resolve(actor="a"), T0 + M)
    assert rt.status is TicketStatus.RESOLVED and not rt.targets[1].paused


def test_pages_skip_people_outside_their_hours_and_fall_back_to_after_hours() -> None:
    doc = business_agreement()
    agent_tier = doc["escalation"]["tiers"][0]
    agent_tier["paging"] = "all"
    agent_tier["contacts"][0]["calendar"] = "berlin-office"  # agent-1 works office hours
    lead_tier = doc["escalation"]["tiers"][1]
    lead_tier["contacts"][0]["calendar"] = "berlin-office"
    lead_tier["after_hours"] = {"name": "night-lead", "email": "night@example.com"}
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    rt = open_at(saturday, "P1", doc)
    assert [c.email for c in rt.page.contacts] == ["agent2@example.com"]  # agent-1 is off
    machine.apply_command(rt, "escalate", machine.Escalate(actor="a", reason="x"), saturday)
    assert [c.email for c in rt.page.contacts] == ["night@example.com"]
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    rt = open_at(monday, "P1", doc)
    assert [c.email for c in rt.page.contacts] == ["agent1@example.com", "agent2@example.com"]


def test_explain_lists_the_calendar_spans_and_pauses_behind_each_deadline() -> None:
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 Berlin
    rt = open_at(friday)
    machine.apply_command(rt, "acknowledge", Acknowledge(actor="a"), friday)
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    machine.apply_command(rt, "pause", Pause(actor="a"), monday)
    machine.apply_command(rt, "resume", Resume(actor="a"), monday + 2 * H)
    explained = machine.explain(rt, monday + 3 * H).targets[1]
    assert explained.calendar == "berlin-office" and "Europe/Berlin" in explained.calendar_rule
    assert explained.paused_seconds == 2 * 3600
    # 8h target: Fri 16-17 (1h) + Mon 9-17 less 2h paused (6h) + Tue 9-10 (1h): Tue 10:00 CET
    assert explained.deadline == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert [(a.isoformat(), b.isoformat()) for a, b in explained.counted_spans][:2] == [
        ("2026-03-06T16:00:00+01:00", "2026-03-06T17:00:00+01:00"),
        ("2026-03-09T09:00:00+01:00", "2026-03-09T17:00:00+01:00"),
    ]
    assert "plus 2h paused" in explained.summary
    assert explained.summary.endswith(
        "deadline 2026-03-10T10:00:00+01:00 (2026-03-10T09:00:00+00:00)"
    ), explained.summary
    kinds = [e.kind for e in rt.events]
    assert EventKind.PAUSED in kinds and EventKind.RESUMED in kinds
    assert rt.tier is Tier.AGENT


def test_a_utc_deadline_is_explained_once_and_to_the_second() -> None:
    opened = datetime(2026, 3, 6, 15, 0, 7, 123456, tzinfo=UTC)
    rt, _ = machine.open_ticket(make_ticket(priority="P1"), make_terms(), opened, opened)
    first = machine.explain(rt, opened).targets[0]
    deadline = first.deadline
    assert deadline is not None
    assert first.summary.endswith(f"deadline {deadline.isoformat(timespec='seconds')}")
    assert first.summary.count(deadline.isoformat(timespec="seconds")) == 1
    assert ".123456" not in first.summary
