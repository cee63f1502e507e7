"""Amendment operations shared by the HTTP API and the CLI.

Failures leave as `TicketError` subclasses (the API's error handler already answers those with
their `http_status` and `{"detail": ...}`; the CLI prints the message and exits 1).

Listing goes through Temporal visibility (`WorkflowType = 'AmendmentWorkflow'`), then asks each
amendment's workflow for its live state: amendments are few, visibility already knows every
running and recently closed one, and a second table would be a second truth that can drift
from the workflow's. The lasting record of a signed amendment is in the database regardless:
its agreement version (document, signatures, diff) and `amendment_commits` (revision, rationale,
moves_open_tickets). Closed amendments drop out of the list after the namespace's retention.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities import agreement_store
from activities.people_store import PeopleStoreError, find_person
from activities.tables import AgreementVersionRow
from slaflow.amendments import (
    STATE_QUERY,
    WORKFLOW_ID_PREFIX,
    AmendmentCommand,
    AmendmentProposal,
    AmendmentStatus,
    AmendmentView,
    Approve,
    Revise,
    Signatory,
    command_name,
    with_changes_applied,
    workflow_id_for,
)
from starter.tickets_service import (
    CommandRefused,
    NoAnswer,
    NotReady,
    TemporalUnavailable,
    TicketError,
    TicketNotFound,
)
from workflows.amendment import AmendmentInput

WORKFLOW_TYPE = "AmendmentWorkflow"
ANSWER_TIMEOUT = timedelta(seconds=30)
DETAIL_CONCURRENCY = 8

T = TypeVar("T")


class ProposalRefused(TicketError):
    """A proposal that is well-formed but cannot start (deadline past, unknown version)."""

    http_status = 422


class StaleProposal(TicketError):
    """A proposal against a version that is no longer the latest: it could never be signed
    into force, since committing refuses it, so it is refused before anyone is asked."""

    http_status = 409


class AmendmentExists(TicketError):
    http_status = 409


class AmendmentSummary(BaseModel):
    amendment_id: str
    workflow_status: str = Field(description="running, completed, failed, terminated, ...")
    started_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    detail: AmendmentView | None = Field(None, description="Live state, when it answered.")


class AmendmentList(BaseModel):
    query: str
    count: int
    amendments: list[AmendmentSummary]


@asynccontextmanager
async def _translated(amendment_id: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT.total_seconds()):
            yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise CommandRefused(message) from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise NoAnswer(
            f"amendment {amendment_id}: no worker answered within "
            f"{ANSWER_TIMEOUT.total_seconds():g}s"
        ) from exc
    except WorkflowQueryFailedError as exc:
        raise NotReady(f"amendment {amendment_id} cannot answer yet: {exc}") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise TicketNotFound(f"amendment {amendment_id} not found") from exc
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise TemporalUnavailable(f"cannot reach Temporal: {exc.message}") from exc
        raise


async def _answered(amendment_id: str, call: Awaitable[T]) -> T:
    async with _translated(amendment_id):
        return await call


def check_proposal(engine: Engine, proposal: AmendmentProposal, now: datetime) -> AmendmentProposal:
    """What the model cannot check alone: the deadline is ahead, the version exists, and a
    change set applied to that version is a valid agreement. Returns the whole proposal."""
    if proposal.deadline <= now:
        raise ProposalRefused(f"deadline: {proposal.deadline.isoformat()} is not in the future")
    if proposal.effective_from is not None and proposal.effective_from < now:
        raise ProposalRefused(
            f"effective_from: {proposal.effective_from.isoformat()} is in the past"
        )
    try:
        agreement_store.agreement(engine, proposal.agreement_id)
    except agreement_store.NoAgreementError as exc:
        raise ProposalRefused(f"agreement_id: {exc}") from exc
    try:
        base = agreement_store.version(engine, proposal.amends_version, proposal.agreement_id)
    except agreement_store.NoAgreementError as exc:
        raise ProposalRefused(f"amends_version: {exc}") from exc
    proposal = _signatories_from_directory(engine, proposal)
    latest = agreement_store.latest_version(engine, proposal.agreement_id)
    if latest.number != proposal.amends_version:
        raise StaleProposal(stale_message(proposal.amends_version, latest, now))
    try:
        return with_changes_applied(proposal, agreement_store.agreement_of(base))
    except ValidationError as exc:
        problems = "; ".join(
            "changes." + ".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors()
        )
        raise ProposalRefused(problems) from exc


def signatory_problem(engine: Engine, agreement_id: str, signatories: list[Signatory]) -> str:
    """Why these signatories cannot sign for `agreement_id` ('' when they can): each must be
    an active person of the directory with a customer or provider signatory role there."""
    for i, signatory in enumerate(signatories):
        try:
            person = find_person(engine, signatory.email)
        except PeopleStoreError:
            return (
                f"signatories.{i}.email: {signatory.email} is not a person of the directory; "
                "add them (`slaflow person add`) and grant a signatory role"
            )
        if not person.active:
            return f"signatories.{i}.email: {signatory.email} is deactivated"
        if not any(role.signs for role in person.roles_on(agreement_id)):
            return (
                f"signatories.{i}.email: {signatory.email} is not a customer or provider "
                f"signatory of agreement {agreement_id}"
            )
    return ""


def _signatories_from_directory(engine: Engine, proposal: AmendmentProposal) -> AmendmentProposal:
    """Signatories must be signatories of the agreement; their name and Slack id come from the
    directory, not from the request."""
    problem = signatory_problem(engine, proposal.agreement_id, proposal.signatories)
    if problem:
        raise ProposalRefused(problem)
    people = [find_person(engine, s.email) for s in proposal.signatories]
    signatories = [
        s.model_copy(update={"name": p.name, "email": p.email, "slack_user_id": p.slack_user_id})
        for s, p in zip(proposal.signatories, people, strict=True)
    ]
    return proposal.model_copy(update={"signatories": signatories})


def stale_message(amends: int, latest: AgreementVersionRow, now: datetime) -> str:
    """'amends_version: version 1 is not the latest; version 2 is (in force since ...)',
    both of the proposal's own agreement."""
    since = latest.effective_from.isoformat(timespec="seconds")
    status = f"in force since {since}" if latest.effective_from <= now else f"takes effect {since}"
    return (
        f"amends_version: version {amends} is not the latest agreement version; version "
        f"{latest.number} is ({status}); propose against {latest.number}"
    )


async def propose(
    client: Client, task_queue: str, engine: Engine, proposal: AmendmentProposal
) -> AmendmentView:
    """Start the amendment's workflow (refusing an invalid or duplicate one) and answer its
    first state."""
    proposal = await asyncio.to_thread(check_proposal, engine, proposal, datetime.now(UTC))
    async with _translated(proposal.amendment_id):
        try:
            handle = await client.start_workflow(
                WORKFLOW_TYPE,
                AmendmentInput(proposal=proposal),
                id=workflow_id_for(proposal.amendment_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=(
                    f"amendment of {proposal.agreement_id} v{proposal.amends_version}: "
                    f"{proposal.rationale}"
                )[:200],
            )
        except WorkflowAlreadyStartedError as exc:
            raise AmendmentExists(f"amendment {proposal.amendment_id} already exists") from exc
        return await handle.query(STATE_QUERY, result_type=AmendmentView)


async def get_amendment(client: Client, amendment_id: str) -> AmendmentView:
    handle = client.get_workflow_handle(workflow_id_for(amendment_id))
    return await _answered(amendment_id, handle.query(STATE_QUERY, result_type=AmendmentView))


STALE_CHECKED = (Approve, Revise)
"""Decisions that only make sense while the amended version is the latest (a rejection, a
request for changes and a withdrawal still may close or settle a stale amendment)."""


async def refuse_if_stale(client: Client, engine: Engine, amendment_id: str) -> None:
    """Refuse (409) a signature or revision of an open amendment whose base version is no
    longer the latest: committing would refuse it anyway, so nobody signs for nothing."""
    view = await get_amendment(client, amendment_id)
    if view.status.closed:
        return  # the workflow's validator says why it is closed
    latest = await asyncio.to_thread(agreement_store.latest_version, engine, view.agreement_id)
    if latest.number != view.amends_version:
        raise CommandRefused(
            f"amendment {amendment_id} amends version {view.amends_version}, but version "
            f"{latest.number} is now the latest; it can no longer take effect: withdraw it "
            f"and propose it again against {latest.number}"
        )


async def decide(
    client: Client,
    amendment_id: str,
    command: AmendmentCommand,
    *,
    engine: Engine | None = None,
) -> AmendmentView:
    """Run one decision as an update; a refusal raises `CommandRefused` saying why. With the
    `engine`, an approval or revision of a stale amendment is refused before it is sent."""
    if engine is not None and isinstance(command, STALE_CHECKED):
        await refuse_if_stale(client, engine, amendment_id)
    if engine is not None and isinstance(command, Revise):
        await refuse_lost_signatories(client, engine, amendment_id)
    handle = client.get_workflow_handle(workflow_id_for(amendment_id))
    try:
        return await _answered(
            amendment_id,
            handle.execute_update(command_name(command), command, result_type=AmendmentView),
        )
    except TicketNotFound:
        # an update on a closed workflow is NOT_FOUND too: say why it was refused
        try:
            view = await get_amendment(client, amendment_id)
        except TicketError:
            raise TicketNotFound(f"amendment {amendment_id} not found") from None
        raise CommandRefused(
            f"amendment {amendment_id} is closed ({view.status.value}: {view.closed_reason})"
        ) from None


async def refuse_lost_signatories(client: Client, engine: Engine, amendment_id: str) -> None:
    """A revision asks everyone again: refused while a signatory has lost their role."""
    view = await get_amendment(client, amendment_id)
    signatories = [d.signatory for d in view.signatories]
    problem = await asyncio.to_thread(signatory_problem, engine, view.agreement_id, signatories)
    if problem:
        raise CommandRefused(f"revise refused: {problem}")


def _status(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status is not None else "unknown"


async def list_amendments(
    client: Client, *, status: AmendmentStatus | None = None, limit: int = 100
) -> AmendmentList:
    """Newest first, each with its live state (filtered by `status` when given)."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}'"
    async with _translated("list"):
        found = [
            AmendmentSummary(
                amendment_id=e.id.removeprefix(WORKFLOW_ID_PREFIX),
                workflow_status=_status(e.status),
                started_at=e.start_time,
                closed_at=e.close_time,
            )
            async for e in client.list_workflows(query, limit=limit)
        ]
    gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

    async def fill(summary: AmendmentSummary) -> None:
        async with gate:
            try:
                summary.detail = await get_amendment(client, summary.amendment_id)
            except TicketError:
                summary.detail = None

    await asyncio.gather(*(fill(a) for a in found))
    if status is not None:
        found = [a for a in found if a.detail is not None and a.detail.status is status]
    return AmendmentList(query=query, count=len(found), amendments=found)
