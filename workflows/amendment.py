"""AmendmentWorkflow: one proposed agreement version, from proposal to signed (or not).

A thin shell around the pure rules of `slaflow.amendments`, built like TicketWorkflow: one loop
computes the impact of each revision and asks every signatory, then waits for a decision, the
next reminder or the deadline, whichever comes first; decisions are updates whose validators
refuse what the rules refuse. When every signatory has approved, `commit_amendment` stores the
next agreement version (or the amendment closes as stale). Workflow id: `amendment-<id>`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from slaflow import amendments as rules
    from slaflow.amendments import (
        AmendmentCommand,
        AmendmentProposal,
        AmendmentState,
        AmendmentStatus,
        AmendmentView,
        Approve,
        ImpactReport,
        Reject,
        RequestChanges,
        Revise,
        Signatory,
        Withdraw,
    )

    from workflows import amendment_calls as calls

MIN_WAIT = timedelta(milliseconds=1)


class AmendmentInput(BaseModel):
    proposal: AmendmentProposal


@workflow.defn
class AmendmentWorkflow:
    @workflow.init
    def __init__(self, input: AmendmentInput) -> None:
        self._s: AmendmentState = rules.new_state(input.proposal, workflow.now())
        self._changed = False
        self._deliveries: set[asyncio.Task[None]] = set()
        self._notice_seq = 0

    @workflow.run
    async def run(self, input: AmendmentInput) -> AmendmentView:
        s = self._s
        while not s.status.closed:
            now = workflow.now()
            if now >= s.proposal.deadline:
                rules.expire(s, now)
                break
            if s.asked_revision < s.revision:
                revision = s.revision
                await self._compute_impact(revision)
                if s.revision == revision and not s.status.closed:
                    self._ask(rules.undecided(s), "request")
                    s.asked_revision, s.last_asked_at = revision, workflow.now()
                continue
            reminder = rules.next_reminder(s)
            if reminder is not None and reminder <= now:
                s.reminders += 1
                self._ask(rules.undecided(s), "reminder")
                s.last_asked_at = now
                continue
            due = min(t for t in (reminder, s.proposal.deadline) if t is not None)
            self._changed = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=max(due - now, MIN_WAIT),
                    timeout_summary="reminder or sign-off deadline",
                )
        if s.status is AmendmentStatus.SIGNED:
            await self._commit()
            if (
                s.committed_version is not None
                and s.proposal.moves_open_tickets
                and workflow.patched("move-open-tickets")
            ):
                await self._move_open_tickets(s.committed_version)
        people = [d.signatory for d in s.decisions]
        proposer = Signatory(name=s.proposal.proposer, role="proposer", email=s.proposal.proposer)
        if all(p.email.lower() != proposer.email.lower() for p in people):
            people.append(proposer)
        self._ask(people, "outcome")
        await workflow.wait_condition(
            lambda: not self._deliveries and workflow.all_handlers_finished()
        )
        return rules.view(s)

    # ----- activities --------------------------------------------------------------------------

    async def _compute_impact(self, revision: int) -> None:
        s = self._s
        try:
            report = await workflow.execute_activity(
                calls.AMENDMENT_IMPACT,
                calls.ImpactRequest(
                    amendment_id=s.proposal.amendment_id,
                    revision=revision,
                    agreement_id=s.proposal.agreement_id,
                    amends_version=s.proposal.amends_version,
                    agreement=s.agreement,
                    until=workflow.now(),
                ),
                result_type=ImpactReport,
                start_to_close_timeout=calls.STORE_TIMEOUT,
                retry_policy=calls.STORE_RETRY,
            )
        except ActivityError as err:
            if s.revision == revision:
                s.impact_error = _cause(err)
            return
        if s.revision == revision:
            s.impact, s.impact_error = report, None
            stale = rules.stale_reason(s, report.latest_version)
            if stale and workflow.patched("stale-before-asking"):
                rules.mark_stale(s, stale, workflow.now())  # nobody is asked to sign for nothing

    async def _move_open_tickets(self, version: int) -> None:
        """At the effective time, open tickets adopt the new version (ServiceNow's retroactive
        start: targets recomputed from each ticket's opening, paused time kept)."""
        s = self._s
        assert s.effective_from is not None
        wait = s.effective_from - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait, summary="effective time of the amendment")
        moved = await workflow.execute_activity(
            calls.MOVE_OPEN_TICKETS,
            calls.MoveRequest(
                amendment_id=s.proposal.amendment_id,
                version=version,
                task_queue=workflow.info().task_queue,
                agreement_id=s.proposal.agreement_id,
            ),
            result_type=calls.MovedTickets,
            start_to_close_timeout=calls.MOVE_TIMEOUT,
            heartbeat_timeout=calls.MOVE_HEARTBEAT,
            retry_policy=calls.STORE_RETRY,
        )
        rules.record_move(s, workflow.now(), len(moved.moved), len(moved.kept))

    async def _commit(self) -> None:
        s = self._s
        assert s.effective_from is not None
        try:
            result = await workflow.execute_activity(
                calls.COMMIT_AMENDMENT,
                calls.CommitRequest(
                    amendment_id=s.proposal.amendment_id,
                    revision=s.revision,
                    agreement_id=s.proposal.agreement_id,
                    agreement=s.agreement,
                    rationale=s.rationale,
                    amends_version=s.proposal.amends_version,
                    effective_from=s.effective_from,
                    moves_open_tickets=s.proposal.moves_open_tickets,
                    signatures=rules.signatures(s),
                ),
                result_type=calls.CommitResult,
                start_to_close_timeout=calls.STORE_TIMEOUT,
                retry_policy=calls.STORE_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == calls.STALE_AMENDMENT:
                rules.mark_stale(s, cause.message, workflow.now())
                return
            raise ApplicationError(
                f"committing amendment failed: {_cause(err)}", type="CommitFailed"
            ) from err
        rules.mark_committed(s, result.version, workflow.now())

    def _ask(self, people: list[Signatory], kind: calls.NoticeKind) -> None:
        """Email and Slack each person in the background; failures are recorded as events."""
        s = self._s
        self._notice_seq += 1
        amendment = rules.view(s).model_copy(update={"events": []})
        base = f"{workflow.info().workflow_id}/r{s.revision}/{kind}{self._notice_seq}"
        for person in people:
            key = f"{base}/{person.email.lower()}"
            self._background(
                self._deliver(calls.SEND_AMENDMENT_EMAIL, f"{key}/email", kind, person, amendment)
            )
            if person.slack_user_id:
                self._background(
                    self._deliver(
                        calls.POST_AMENDMENT_SLACK, f"{key}/slack", kind, person, amendment
                    )
                )

    async def _deliver(
        self, activity: str, key: str, kind: calls.NoticeKind, to: Signatory, view: AmendmentView
    ) -> None:
        medium = "email" if activity == calls.SEND_AMENDMENT_EMAIL else "slack"
        try:
            await workflow.execute_activity(
                activity,
                calls.AmendmentNotice(idempotency_key=key, kind=kind, to=to, amendment=view),
                start_to_close_timeout=calls.NOTIFY_TIMEOUT,
                heartbeat_timeout=calls.NOTIFY_HEARTBEAT,
                schedule_to_close_timeout=calls.NOTIFY_DEADLINE,
                retry_policy=calls.NOTIFY_RETRY,
            )
        except ActivityError as err:
            rules.record(
                self._s, workflow.now(), f"{medium} {kind} to {to.email} failed: {_cause(err)}"
            )

    def _background(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    # ----- decisions ---------------------------------------------------------------------------

    def _refuse(self, command: AmendmentCommand) -> None:
        reason = rules.refusal(self._s, command)
        if reason:
            raise ApplicationError(reason, type="CommandRefused", non_retryable=True)

    def _decide(self, command: AmendmentCommand) -> AmendmentView:
        self._refuse(command)
        rules.apply(self._s, command, workflow.now())
        self._changed = True
        return rules.view(self._s)

    @workflow.update(name="approve")
    def approve(self, command: Approve) -> AmendmentView:
        return self._decide(command)

    @approve.validator
    def _check_approve(self, command: Approve) -> None:
        self._refuse(command)

    @workflow.update(name="reject")
    def reject(self, command: Reject) -> AmendmentView:
        return self._decide(command)

    @reject.validator
    def _check_reject(self, command: Reject) -> None:
        self._refuse(command)

    @workflow.update(name="request_changes")
    def request_changes(self, command: RequestChanges) -> AmendmentView:
        return self._decide(command)

    @request_changes.validator
    def _check_request_changes(self, command: RequestChanges) -> None:
        self._refuse(command)

    @workflow.update(name="revise")
    def revise(self, command: Revise) -> AmendmentView:
        return self._decide(command)

    @revise.validator
    def _check_revise(self, command: Revise) -> None:
        self._refuse(command)

    @workflow.update(name="withdraw")
    def withdraw(self, command: Withdraw) -> AmendmentView:
        return self._decide(command)

    @withdraw.validator
    def _check_withdraw(self, command: Withdraw) -> None:
        self._refuse(command)

    @workflow.query(name=rules.STATE_QUERY)
    def state(self) -> AmendmentView:
        return rules.view(self._s)


def _cause(err: ActivityError) -> str:
    cause = err.cause
    while (
        cause is not None
        and cause.__cause__ is not None
        and not isinstance(cause, ApplicationError)
    ):
        cause = cause.__cause__
    return str(cause or err)
