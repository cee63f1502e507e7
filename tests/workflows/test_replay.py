"""Replay every saved workflow history against today's code: a change that would break running
tickets (non-determinism) fails here, before it ships. Record new histories with
`SLAFLOW_RECORD_HISTORIES=1 make pytest PYTEST_ARGS=tests/workflows` and commit them; change
shipped workflow code only behind `workflow.patched`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.amendment import AmendmentWorkflow
from workflows.service_level_watch import ServiceLevelWatchWorkflow
from workflows.ticket import FACTS_ON_CHANGE_PATCH, TicketWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_histories_are_committed() -> None:
    names = [p.name for p in HISTORIES]
    assert sum(n.startswith("ticket-") for n in names) >= 10, "ticket workflow histories"
    assert sum(n.startswith("amendment-") for n in names) >= 8, "amendment workflow histories"
    assert sum(n.startswith("service-levels-") for n in names) >= 4, "service-level watch histories"


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = load(path)
    replayer = Replayer(
        workflows=[TicketWorkflow, AmendmentWorkflow, ServiceLevelWatchWorkflow],
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def _pins(path: Path) -> tuple[int, int]:
    """How a ticket history pinned its terms: (as an activity, as a local-activity marker)."""
    events = load(path).events
    as_activity = sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == "pin_terms"
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    )
    as_marker = sum(
        e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        and any(
            b"pin_terms" in payload.data
            for payload in e.marker_recorded_event_attributes.details["data"].payloads
        )
        for e in events
        if e.HasField("marker_recorded_event_attributes")
    )
    return as_activity, as_marker


LOCAL_PIN_SETS = ("ticket-local_pin-", "ticket-facts_on_change-")
"""History sets recorded after the pin-terms-local-activity patch."""


def _marks(path: Path, patch: str) -> bool:
    return any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch.encode()
        in b"".join(
            p.data for p in e.marker_recorded_event_attributes.details["patch-data"].payloads
        )
        for e in load(path).events
        if e.HasField("marker_recorded_event_attributes")
    )


def test_facts_written_at_breach_and_reopen_are_replayed() -> None:
    """Histories of the record-facts-on-breach-and-reopen patch exist beside older ones."""
    tickets = [p for p in HISTORIES if p.name.startswith("ticket-")]
    newer = [p for p in tickets if _marks(p, FACTS_ON_CHANGE_PATCH)]
    assert {p.name for p in newer} >= {
        "ticket-facts_on_change-a_breach_is_written_while_the_ticket_is_open-0.json",
        "ticket-facts_on_change-a_reopened_ticket_is_written_as_open_again-0.json",
    }
    assert all(p.name.startswith("ticket-facts_on_change-") for p in newer)


def test_both_ways_of_pinning_terms_are_replayed() -> None:
    """Tickets opened before the pin-terms-local-activity patch pinned with an activity; newer
    ones with a local activity. Saved histories of both kinds must exist, so both replay."""
    tickets = [p for p in HISTORIES if p.name.startswith("ticket-")]
    pins = {p: _pins(p) for p in tickets}
    local = [p for p in tickets if p.name.startswith(LOCAL_PIN_SETS)]
    older = [p for p in tickets if p not in local]
    # A run continued as new carries its terms and pins nothing.
    assert all(pins[p] in ((0, 1), (0, 0)) for p in local)
    assert all(pins[p] in ((1, 0), (0, 0)) for p in older)
    assert sum(pins[p] == (0, 1) for p in local) >= 10
    assert sum(pins[p] == (1, 0) for p in older) >= 10
