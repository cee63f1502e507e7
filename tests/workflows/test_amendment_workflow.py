"""AmendmentWorkflow on the time-skipping server: every outcome, refusals, reminders, impact."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import agreement_store
from activities.amendments import AmendmentActivities, ImpactSettings, commit_record
from activities.tables import TicketFactRow
from slaflow.agreement import Agreement
from slaflow.amendments import (
    AmendmentProposal,
    AmendmentStatus,
    AmendmentView,
    Approve,
    Reject,
    RequestChanges,
    Revise,
    Withdraw,
    workflow_id_for,
)
from slaflow.tiers import Priority
from tests.factories import agreement_doc
from workflows.amendment import AmendmentInput, AmendmentWorkflow
from workflows.amendment_calls import (
    AmendmentEmailReceipt,
    AmendmentNotice,
    AmendmentSlackReceipt,
    MovedTickets,
    MoveRequest,
)

H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)
CORA, SAM, PAT = "cora@customer.example", "sam@example.com", "pat@example.com"


@dataclass
class RecordedAmendmentNotices:
    emails: list[AmendmentNotice] = field(default_factory=list)
    slack: list[AmendmentNotice] = field(default_factory=list)
    moves: list[tuple[MoveRequest, datetime]] = field(default_factory=list)

    @activity.defn(name="move_open_tickets")
    async def move_open_tickets(self, request: MoveRequest) -> MovedTickets:
        """Records when tickets would be moved; the real mover is tested on the dev server."""
        self.moves.append((request, activity.info().scheduled_time))
        return MovedTickets(moved=["ticket-T-1"], kept=[])

    @activity.defn(name="send_amendment_email")
    async def send_amendment_email(self, notice: AmendmentNotice) -> AmendmentEmailReceipt:
        self.emails.append(notice)
        return AmendmentEmailReceipt(message_id=f"<{notice.idempotency_key}>")

    @activity.defn(name="post_amendment_slack")
    async def post_amendment_slack(self, notice: AmendmentNotice) -> AmendmentSlackReceipt:
        self.slack.append(notice)
        return AmendmentSlackReceipt(channel=notice.to.slack_user_id or "", ts="1.0")

    def kinds(self, email: str) -> list[str]:
        return [n.kind for n in self.emails if n.to.email == email]


def proposed_doc(first_response: str = "20m") -> dict[str, Any]:
    doc = agreement_doc()
    doc["objectives"]["P1"]["first_response"]["within"] = first_response
    return doc


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    sent: RecordedAmendmentNotices
    engine: Engine
    started: list[WorkflowHandle] = field(default_factory=list)

    async def propose(self, **overrides: Any) -> WorkflowHandle[AmendmentWorkflow, AmendmentView]:
        now = await self.env.get_current_time()
        data: dict[str, Any] = {
            "amendment_id": f"A-{uuid.uuid4().hex[:8]}",
            "proposer": PAT,
            "agreement": proposed_doc(),
            "rationale": "P1 first response 20m",
            "signatories": [
                {"name": "Cora", "role": "customer", "email": CORA},
                {"name": "Sam", "role": "service owner", "email": SAM, "slack_user_id": "U9"},
            ],
            "deadline": (now + 7 * D).isoformat(),
            "amends_version": 1,
        }
        data.update(overrides)
        proposal = AmendmentProposal.model_validate(data)
        handle = await self.client.start_workflow(
            AmendmentWorkflow.run,
            AmendmentInput(proposal=proposal),
            id=workflow_id_for(proposal.amendment_id),
            task_queue=self.task_queue,
        )
        self.started.append(handle)
        await self.requested(proposal.amendment_id)
        return handle

    async def requested(self, amendment_id: str, revision: int = 1) -> None:
        """Wait until the approval requests of `revision` went out (after its impact)."""
        for _ in range(400):
            if any(
                n.amendment.amendment_id == amendment_id
                and n.kind == "request"
                and n.amendment.revision == revision
                for n in self.sent.emails
            ):
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"no approval request for {amendment_id} revision {revision}")

    async def decide(self, handle: WorkflowHandle, name: str, command: object) -> AmendmentView:
        return await handle.execute_update(name, command, result_type=AmendmentView)

    async def state(self, handle: WorkflowHandle) -> AmendmentView:
        return await handle.query("state", result_type=AmendmentView)


HISTORIES = Path(__file__).parent.parent / "histories"


def _histories_dir() -> Path:
    directory = Path(os.environ.get("SLAFLOW_HISTORIES_DIR") or HISTORIES)
    directory.mkdir(exist_ok=True)
    return directory


async def save_histories(harness: Harness, test_name: str) -> None:
    """With SLAFLOW_RECORD_HISTORIES=1, keep each workflow's history for the replay test
    (in SLAFLOW_HISTORIES_DIR when set, else tests/histories)."""
    if not os.environ.get("SLAFLOW_RECORD_HISTORIES"):
        return
    directory = _histories_dir()
    for i, handle in enumerate(harness.started):
        history = await handle.fetch_history()
        (directory / f"amendment-{test_name.removeprefix('test_')}-{i}.json").write_text(
            history.to_json()
        )


@pytest.fixture
async def harness(
    time_env: WorkflowEnvironment, engine: Engine, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    sent = RecordedAmendmentNotices()
    acts = AmendmentActivities(engine, ImpactSettings(impact_days=90))
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[AmendmentWorkflow],
        activities=[
            acts.amendment_impact,
            acts.commit_amendment,
            sent.send_amendment_email,
            sent.post_amendment_slack,
            sent.move_open_tickets,
        ],
        activity_executor=ThreadPoolExecutor(4),
    ):
        harness = Harness(time_env, time_env.client, task_queue, sent, engine)
        yield harness
        await save_histories(harness, request.node.name)
        for handle in harness.started:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


async def test_signed_amendment_commits_version_2_with_signatures_and_diff(
    harness: Harness,
) -> None:
    handle = await harness.propose()
    await harness.decide(handle, "approve", Approve(by=CORA, comment="fine"))
    view = await harness.decide(handle, "approve", Approve(by=SAM))
    assert view.status is AmendmentStatus.SIGNED
    result = await handle.result()
    assert result.committed_version == 2 and result.status is AmendmentStatus.SIGNED
    row = agreement_store.version(harness.engine, 2)
    assert row.source == f"amendment:{result.amendment_id}"
    assert [(s["email"], s["comment"], s["revision"]) for s in row.signatures] == [
        (CORA, "fine", 1),
        (SAM, "", 1),
    ]
    assert [(d["path"], d["old"], d["new"]) for d in row.diff] == [
        ("objectives.P1.first_response.within", "10m", "20m")
    ]
    record = commit_record(harness.engine, 2)
    assert record is not None and record.moves_open_tickets is False and record.revision == 1
    # asked by email (both) and Slack (Sam has a Slack id); everyone hears the outcome
    assert harness.sent.kinds(CORA) == ["request", "outcome"]
    assert harness.sent.kinds(PAT) == ["outcome"]
    assert [n.kind for n in harness.sent.slack] == ["request", "outcome"]


async def test_rejection_closes_it_with_the_comment(harness: Harness) -> None:
    handle = await harness.propose()
    await harness.decide(handle, "reject", Reject(by=SAM, comment="too slow for P1"))
    result = await handle.result()
    assert result.status is AmendmentStatus.REJECTED
    assert "too slow for P1" in result.closed_reason
    assert len(agreement_store.all_versions(harness.engine)) == 1


async def test_deadline_expires_it_after_reminders(harness: Harness) -> None:
    handle = await harness.propose(remind_every="2d")
    await harness.decide(handle, "approve", Approve(by=CORA))
    result = await handle.result()  # time skips to the 7-day deadline
    assert result.status is AmendmentStatus.EXPIRED and SAM in result.closed_reason
    assert result.reminders == 3  # at 2, 4 and 6 days
    assert harness.sent.kinds(SAM) == ["request", "reminder", "reminder", "reminder", "outcome"]
    assert harness.sent.kinds(CORA) == ["request", "outcome"]  # decided: not reminded


async def test_proposer_may_withdraw_others_may_not(harness: Harness) -> None:
    handle = await harness.propose()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.decide(handle, "withdraw", Withdraw(by=CORA))
    assert "only the proposer" in str(refused.value.cause)
    await harness.decide(handle, "withdraw", Withdraw(by=PAT, reason="superseded"))
    result = await handle.result()
    assert result.status is AmendmentStatus.WITHDRAWN and result.closed_reason == "superseded"


async def test_revision_voids_old_approvals_and_everyone_signs_again(harness: Harness) -> None:
    handle = await harness.propose()
    await harness.decide(handle, "approve", Approve(by=CORA))
    await harness.decide(handle, "request_changes", RequestChanges(by=SAM, comment="make it 15m"))
    revised = await harness.decide(
        handle,
        "revise",
        Revise(by=PAT, agreement=Agreement.model_validate(proposed_doc("15m")), rationale="15m"),
    )
    assert revised.revision == 2 and all(d.decision is None for d in revised.signatories)
    await harness.requested(revised.amendment_id, revision=2)
    await harness.decide(handle, "approve", Approve(by=SAM))
    state = await harness.state(handle)
    assert state.status is AmendmentStatus.PENDING  # Cora's approval of revision 1 is void
    await harness.decide(handle, "approve", Approve(by=CORA))
    result = await handle.result()
    assert result.committed_version == 2 and result.revision == 2
    row = agreement_store.version(harness.engine, 2)
    assert agreement_store.agreement_of(row).objectives[Priority.P1].first_response.within == 15 * M
    assert {s["revision"] for s in row.signatures} == {2}
    assert harness.sent.kinds(CORA) == ["request", "request", "outcome"]
    assert result.impact is not None and result.impact.revision == 2


async def test_refusals_stranger_double_decision_after_close(harness: Harness) -> None:
    handle = await harness.propose()
    with pytest.raises(WorkflowUpdateFailedError) as stranger:
        await harness.decide(handle, "approve", Approve(by="eve@example.com"))
    assert "not a signatory" in str(stranger.value.cause)
    await harness.decide(handle, "approve", Approve(by=CORA))
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await harness.decide(handle, "reject", Reject(by=CORA, comment="changed my mind"))
    assert "already decided" in str(twice.value.cause)
    await harness.decide(handle, "reject", Reject(by=SAM, comment="no"))
    await handle.result()
    view = await harness.state(handle)
    assert [e.kind for e in view.events] == ["proposed", "approved", "rejected"]


async def test_decision_after_close_is_refused(harness: Harness) -> None:
    handle = await harness.propose()
    await harness.decide(handle, "withdraw", Withdraw(by=PAT))
    state = await harness.state(handle)
    assert state.status is AmendmentStatus.WITHDRAWN
    # The run may still be sending its outcome notices (the validator refuses, saying why) or
    # may have completed meanwhile (the server refuses the update): either way, nothing changes.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)) as closed:
        await harness.decide(handle, "approve", Approve(by=CORA))
    if isinstance(closed.value, WorkflowUpdateFailedError):
        assert "is closed (withdrawn" in str(closed.value.cause)
    assert (await handle.result()).status is AmendmentStatus.WITHDRAWN


async def test_future_effective_date_keeps_earlier_tickets_on_version_1(
    harness: Harness,
) -> None:
    now = await harness.env.get_current_time()
    effective = (now + 30 * D).replace(microsecond=0)
    handle = await harness.propose(effective_from=effective.isoformat())
    await harness.decide(handle, "approve", Approve(by=CORA))
    await harness.decide(handle, "approve", Approve(by=SAM))
    result = await handle.result()
    row = agreement_store.version(harness.engine, 2)
    assert row.effective_from == effective and result.effective_from == effective
    assert agreement_store.version_in_force(harness.engine, effective - H).number == 1
    assert agreement_store.version_in_force(harness.engine, effective).number == 2


async def test_stale_amendment_is_refused_at_commit(harness: Harness) -> None:
    handle = await harness.propose()
    await harness.decide(handle, "approve", Approve(by=CORA))
    # someone else's amendment lands first
    agreement_store.add_version(
        harness.engine,
        Agreement.model_validate(proposed_doc("30m")),
        effective_from=datetime.now(UTC),
        source="amendment:other",
    )
    await harness.decide(handle, "approve", Approve(by=SAM))
    result = await handle.result()
    assert result.status is AmendmentStatus.STALE
    assert "amends version 1, but version 2 is now the latest" in result.closed_reason
    assert result.committed_version is None
    assert len(agreement_store.all_versions(harness.engine)) == 2


async def test_an_amendment_of_a_stale_version_closes_before_anyone_is_asked(
    harness: Harness,
) -> None:
    agreement_store.add_version(
        harness.engine,
        Agreement.model_validate(proposed_doc("30m")),
        effective_from=datetime.now(UTC),
        source="amendment:other",
    )
    now = await harness.env.get_current_time()
    proposal = AmendmentProposal.model_validate(
        {
            "amendment_id": f"A-{uuid.uuid4().hex[:8]}",
            "proposer": PAT,
            "agreement": proposed_doc(),
            "rationale": "P1 first response 20m",
            "signatories": [{"name": "Cora", "role": "customer", "email": CORA}],
            "deadline": (now + 7 * D).isoformat(),
            "amends_version": 1,
        }
    )
    handle = await harness.client.start_workflow(
        AmendmentWorkflow.run,
        AmendmentInput(proposal=proposal),
        id=workflow_id_for(proposal.amendment_id),
        task_queue=harness.task_queue,
    )
    harness.started.append(handle)
    result = await handle.result()
    assert result.status is AmendmentStatus.STALE
    assert result.closed_reason == (
        f"amendment {proposal.amendment_id} amends version 1, but version 2 is now the latest; "
        "propose it again against 2"
    )
    assert result.impact is not None and result.impact.latest_version == 2
    assert harness.sent.kinds(CORA) == ["outcome"]  # never asked to sign
    assert len(agreement_store.all_versions(harness.engine)) == 2


def _fact(
    ticket_id: str,
    priority: str,
    opened: datetime,
    responded: timedelta | None,
    resolved: timedelta,
    closed: datetime,
) -> TicketFactRow:
    return TicketFactRow(
        ticket_id=ticket_id,
        customer="ACME",
        priority=priority,
        channel="phone",
        agreement_version=1,
        opened_at=opened,
        first_response_at=opened + responded if responded is not None else None,
        resolved_at=opened + resolved,
        closed_at=closed,
        first_response_target_seconds=600,
        resolution_target_seconds=3600,
        first_response_breached=False,
        resolution_breached=False,
        highest_tier="agent",
        escalations=0,
        reopen_count=0,
        status="closed",
        updated_at=closed,
    )


async def test_impact_on_seeded_closed_tickets(harness: Harness) -> None:
    """Version 1: P1 respond 10m / resolve 60m, P2 20m / 120m (24x7, phone).
    Proposal: P1 respond 20m, P2 resolve 90m.

    P1-a responded 5m, resolved 30m: met both under both.
    P1-b responded 15m, resolved 50m: first response missed now, met under the proposal.
    P1-c never responded, resolved 70m: missed everything under both.
    P2-a responded 10m, resolved 100m: resolution met now (120m), missed under 90m.
    P2-b responded 30m, resolved 60m: first response missed under both, resolution met.
    P1-old closed 100 days ago: outside the 90-day window.
    So P1 first response 1/3 -> 2/3, resolution 2/3 -> 2/3; P2 first response 1/2 -> 1/2,
    resolution 2/2 -> 1/2."""
    now = await harness.env.get_current_time()
    opened = now - 10 * D
    closed = now - 9 * D
    m = timedelta(minutes=1)
    with Session(harness.engine) as session:
        for fact in (
            _fact("P1-a", "P1", opened, 5 * m, 30 * m, closed),
            _fact("P1-b", "P1", opened, 15 * m, 50 * m, closed),
            _fact("P1-c", "P1", opened, None, 70 * m, closed),
            _fact("P2-a", "P2", opened, 10 * m, 100 * m, closed),
            _fact("P2-b", "P2", opened, 30 * m, 60 * m, closed),
            _fact("P1-old", "P1", now - 101 * D, 30 * m, 30 * m, now - 100 * D),
        ):
            session.add(fact)
        session.commit()
    doc = proposed_doc()
    doc["objectives"]["P2"]["resolution"]["within"] = "90m"
    handle = await harness.propose(agreement=doc)
    await harness.decide(handle, "withdraw", Withdraw(by=PAT))
    result = await handle.result()
    impact = result.impact
    assert impact is not None and impact.tickets == 5 and impact.window_days == 90
    p1, p2 = impact.priorities[0], impact.priorities[1]
    assert (p1.first_response.current.met, p1.first_response.proposed.met) == (1, 2)
    assert (p1.resolution.current.met, p1.resolution.proposed.met) == (2, 2)
    assert (p1.first_response.current_percent, p1.first_response.proposed_percent) == (
        33.33,
        66.67,
    )
    assert (p2.first_response.current.met, p2.first_response.proposed.met) == (1, 1)
    assert (p2.resolution.current.met, p2.resolution.proposed.met) == (2, 1)
    assert (p2.resolution.current_percent, p2.resolution.proposed_percent) == (100.0, 50.0)
    # the approval request carried it
    assert harness.sent.emails[0].amendment.impact == impact


async def test_an_amendment_that_moves_open_tickets_moves_them_at_its_effective_time(
    harness: Harness,
) -> None:
    now = await harness.env.get_current_time()
    effective = now + 2 * D
    handle = await harness.propose(moves_open_tickets=True, effective_from=effective.isoformat())
    await harness.decide(handle, "approve", Approve(by=CORA))
    await harness.decide(handle, "approve", Approve(by=SAM))
    result = await handle.result()
    assert result.committed_version == 2
    record = commit_record(harness.engine, 2)
    assert record is not None and record.moves_open_tickets is True
    ((request, scheduled),) = harness.sent.moves
    assert (request.version, request.task_queue) == (2, harness.task_queue)
    assert scheduled >= effective  # not before the new terms are in force
