"""The ticket page's actions match what the workflow accepts, and the acknowledgement's note
says the first-response clock still runs."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from slaflow import ticket_machine as machine
from slaflow.roles import Role
from slaflow.ticket_actions import ACTIONS, available_actions, first_response_note
from slaflow.tickets import COMMANDS, Command, TicketRuntime
from tests.factories import T0, make_terms, make_ticket

M = timedelta(minutes=1)
ARGUMENTS = {
    "assign": {"assignee": "kim"},
    "escalate": {"reason": "why"},
    "reopen": {"reason": "again"},
    "comment": {"text": "note"},
}


def _command(name: str) -> Command:
    return COMMANDS[name](actor="pat", **ARGUMENTS.get(name, {}))


def _opened() -> TicketRuntime:
    rt, _ = machine.open_ticket(make_ticket(priority="P3"), make_terms(), T0, T0)
    return rt


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), max_size=8))
def test_offered_actions_are_the_ones_the_workflow_accepts(steps: list[str]) -> None:
    rt, now = _opened(), T0
    for name in steps:
        now += M
        if machine.refusal(rt, name, _command(name)) is None:
            machine.apply_command(rt, name, _command(name), now)
        offered = available_actions(machine.view(rt, now), Role.AGENT)
        for action in ACTIONS:
            refused = machine.refusal(rt, action, _command(action))
            if action in offered:
                assert refused is None, (action, refused)
            elif action != "assign":
                assert refused is not None, action


def test_no_actions_for_intake_or_nobody() -> None:
    view = machine.view(_opened(), T0)
    assert available_actions(view, Role.INTAKE) == []
    assert available_actions(view, None) == []
    assert available_actions(view, Role.MANAGER) == available_actions(view, Role.AGENT)


def test_the_note_after_acknowledging_gives_the_time_left_to_respond() -> None:
    rt = _opened()
    machine.apply_command(rt, "acknowledge", _command("acknowledge"), T0 + M)
    view = machine.view(rt, T0 + M)
    first = next(t for t in view.targets if t.kind.value == "first_response")
    assert first.deadline is not None
    note = first_response_note(view, first.deadline - timedelta(seconds=52.4))
    assert note == (
        "Acknowledging is not responding: the first-response clock still runs (52s left). "
        "Record the response with Responded once you have replied to the customer."
    )
    machine.apply_command(rt, "respond", _command("respond"), T0 + 2 * M)
    assert first_response_note(machine.view(rt, T0 + 2 * M), T0 + 2 * M) == (
        "The first response is already recorded."
    )
