"""A breached target's deadline is its breach: a pause that starts later does not move what
people are shown (the ticket view, the explanation, the email's "overdue by")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.notify_email import describe_targets
from slaflow import ticket_machine as machine
from slaflow.tickets import Pause, Respond, Resume, TicketRuntime
from slaflow.time_left import describe_time_left
from tests.factories import agreement_doc, make_agreement, make_terms, make_ticket

H = timedelta(hours=1)
M = timedelta(minutes=1)
OFFICE = {
    "time_zone": "UTC",
    "weekly_hours": {
        d: ["08:00-17:00"] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
}
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def office_agreement() -> dict[str, Any]:
    doc = agreement_doc(calendars={"office": OFFICE})
    doc["objectives"]["P3"]["calendar"] = "office"
    doc["objectives"]["P3"]["resolution"]["within"] = "8h"
    return doc


def run_until(rt: TicketRuntime, until: datetime) -> None:
    """Act on every moment due up to `until`, as the workflow's clock loop would."""
    while (due := machine.next_due(rt, until)) is not None and due.at <= until:
        machine.apply_due(rt, due, max(due.at, rt.opened_at))


def test_a_pause_after_the_breach_does_not_move_the_deadline() -> None:
    terms = make_terms(make_agreement(**office_agreement()))
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), terms, MONDAY, MONDAY)
    machine.apply_command(rt, "respond", Respond(actor="a"), MONDAY + 0.1 * H)
    # 8 business hours from Monday 08:00 in 08-17 hours: Monday 16:00
    breach = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    run_until(rt, breach)
    resolution = rt.targets[1]
    assert resolution.breached_at == breach
    machine.apply_command(rt, "pause", Pause(actor="a"), datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    machine.apply_command(
        rt, "resume", Resume(actor="customer"), datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    )
    wednesday = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    run_until(rt, wednesday)
    view = machine.view(rt, wednesday)
    # Before the fix: 9 paused business hours (Tue 09-17, Wed 08-09) moved it to Tuesday 16:00.
    assert view.targets[1].status == "breached"
    assert view.targets[1].deadline == breach
    explained = machine.explain(rt, wednesday).targets[1]
    assert explained.deadline == breach and "breached at" in explained.summary
    # Monday 16:00 to Wednesday 10:00 is 42 wall-clock hours.
    line = describe_targets(view, wednesday)[1]
    assert line.deadline == breach
    assert line.left == "overdue by 42h"


def test_an_unbreached_target_still_moves_with_its_pauses() -> None:
    terms = make_terms(make_agreement(**office_agreement()))
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), terms, MONDAY, MONDAY)
    machine.apply_command(rt, "respond", Respond(actor="a"), MONDAY + 0.1 * H)
    machine.apply_command(rt, "pause", Pause(actor="a"), MONDAY + H)
    machine.apply_command(rt, "resume", Resume(actor="customer"), MONDAY + 3 * H)
    # two business hours paused: Monday 16:00 + 2h = Tuesday 09:00
    view = machine.view(rt, MONDAY + 3 * H)
    assert view.targets[1].deadline == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@given(
    pause_after=st.integers(0, 72 * 60),
    pause_for=st.integers(1, 72 * 60),
    read_after=st.integers(0, 72 * 60),
)
def test_no_pause_after_a_breach_moves_its_deadline(
    pause_after: int, pause_for: int, read_after: int
) -> None:
    """Whenever a pause starts after the breach and however long it lasts (resumed or not),
    the deadline shown is the breach, and "overdue by" is the wall-clock time since it."""
    terms = make_terms(make_agreement(**office_agreement()))
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), terms, MONDAY, MONDAY)
    machine.apply_command(rt, "respond", Respond(actor="a"), MONDAY + 0.1 * H)
    breach = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    run_until(rt, breach)
    paused = breach + timedelta(minutes=pause_after)
    machine.apply_command(rt, "pause", Pause(actor="a"), paused)
    resumed = paused + timedelta(minutes=pause_for)
    now = resumed + timedelta(minutes=read_after)
    if read_after:  # else the pause is still running when the ticket is read
        machine.apply_command(rt, "resume", Resume(actor="customer"), resumed)
        run_until(rt, now)
    view = machine.view(rt, now)
    assert view.targets[1].deadline == breach
    expected = describe_time_left((breach - now).total_seconds())
    assert describe_targets(view, now)[1].left == expected
