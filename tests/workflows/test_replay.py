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
from workflows.ticket import TicketWorkflow

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
