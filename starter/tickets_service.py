"""Ticket operations shared by the HTTP API and the CLI, so both answer the same way.

Every failure leaves this module as a `TicketError` whose message is meant for the person who
asked and whose `http_status` the API uses; the CLI prints the message and exits 1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import quote as quote_path

from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities import agreement_store
from slaflow import search_attributes as attrs
from slaflow.customers import SLUG_PATTERN, AgreementSelection, UnknownCustomerError
from slaflow.settings import Settings
from slaflow.tickets import (
    COMMANDS,
    EXPLAIN_QUERY,
    SNAPSHOT_UPDATE,
    STATE_QUERY,
    Command,
    Snapshot,
    TicketExplanation,
    TicketInput,
    TicketStatus,
    TicketView,
    opened_at_problem,
    workflow_id_for,
)
from slaflow.tiers import Priority, Tier
from starter import doctor
from starter.temporal_client import connect
from workflows.ticket import TicketWorkflowInput

WORKFLOW_TYPE = "TicketWorkflow"
WORKFLOW_ID_PREFIX = workflow_id_for("")
ANSWER_TIMEOUT = timedelta(seconds=30)
"""How long a caller waits for a worker to answer an update or query before giving up."""
DETAIL_CONCURRENCY = 8

log = logging.getLogger("slaflow.tickets")
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class TicketError(Exception):
    """A failure worth telling the caller about, with the HTTP status the API answers."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TicketNotFound(TicketError):
    http_status = 404


class CommandRefused(TicketError):
    """The ticket's validator said no (resolving a resolved ticket, ...); the message says why."""

    http_status = 409


class TicketClosed(CommandRefused):
    pass


class UnknownCommand(TicketError):
    http_status = 422


class UnknownCustomer(TicketError):
    """No agreement covers the ticket's customer (and there is no default agreement)."""

    http_status = 422


class TemporalUnavailable(TicketError):
    http_status = 503


class NotReady(TicketError):
    """The ticket's workflow exists but cannot answer a query yet; retrying shortly helps."""

    http_status = 503


class TicketBroken(NotReady):
    """The ticket's workflow task keeps failing (Temporal refuses to query it): it needs an
    operator, not a retry."""


class InvalidTicket(TicketError):
    """The intake itself is refused: a field the model alone cannot judge (`opened_at`)."""

    http_status = 422


class SearchAttributesMissing(TicketError):
    """The namespace lacks slaflow's search attributes: no ticket can start until an
    operator registers them."""

    http_status = 503


class NoAnswer(TicketError):
    """Temporal took the request but no worker answered in time (is `slaflow worker` running?)."""

    http_status = 504


class Opened(BaseModel):
    view: TicketView
    created: bool = Field(description="False when the ticket already existed.")


class KnownTicket(BaseModel):
    """What a repeated intake tells a caller that may not read tickets: that it exists."""

    ticket_id: str
    workflow_id: str
    created: bool = Field(False, description="Always false: the ticket already existed.")


class TicketFilter(BaseModel):
    """What `GET /tickets` and `slaflow ticket list` filter on: the search attributes."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    tier: Tier | None = None
    breached: bool | None = None
    customer: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    agreement: str | None = Field(None, pattern=SLUG_PATTERN)


class TicketSummary(BaseModel):
    """One ticket as visibility knows it, without asking its workflow."""

    ticket_id: str
    workflow_id: str
    customer: str | None
    agreement: str | None = None
    priority: Priority | None
    tier: Tier | None
    status: TicketStatus | None
    breached: bool | None
    started_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    workflow_status: str = Field(description="running, completed, failed, terminated, ...")
    detail: TicketView | None = Field(None, description="Live state, with ?detail=true.")
    problem: str | None = Field(
        None, description="With ?detail=true: why the ticket did not give its live state."
    )


class TicketList(BaseModel):
    query: str = Field(description="The Temporal visibility query that produced the list.")
    count: int
    tickets: list[TicketSummary]


async def connect_client(settings: Settings) -> Client:
    """`connect`, with the failure said in the words the API and CLI show."""
    try:
        return await connect(settings)
    except Exception as exc:  # the SDK raises RuntimeError, OSError or RPCError
        raise TemporalUnavailable(
            f"cannot reach Temporal at {settings.temporal_address}: {exc}"
        ) from exc


def command_model(name: str) -> type[Command]:
    try:
        return COMMANDS[name]
    except KeyError:
        raise UnknownCommand(
            f"unknown command {name!r}; valid commands: {', '.join(COMMANDS)}"
        ) from None


def command_name(command: Command) -> str:
    for name, model in COMMANDS.items():
        if type(command) is model:
            return name
    raise UnknownCommand(f"{type(command).__name__} is not a ticket command")


def quote(value: str) -> str:
    """A visibility-query string literal (backslash escapes, as Temporal's SQL parser reads)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_list_query(filters: TicketFilter) -> str:
    clauses = [f"WorkflowType = {quote(WORKFLOW_TYPE)}", "ExecutionStatus != 'ContinuedAsNew'"]
    keyword = {
        attrs.STATUS.name: filters.status,
        attrs.PRIORITY.name: filters.priority,
        attrs.TIER.name: filters.tier,
        attrs.CUSTOMER.name: filters.customer,
        attrs.AGREEMENT.name: filters.agreement,
    }
    clauses += [f"{name} = {quote(str(value))}" for name, value in keyword.items() if value]
    if filters.breached is not None:
        clauses.append(f"{attrs.BREACHED.name} = {'true' if filters.breached else 'false'}")
    # No ORDER BY: SQLite visibility refuses it; every store lists newest first by default.
    return " AND ".join(clauses)


@asynccontextmanager
async def _translated(ticket_id: str) -> AsyncIterator[None]:
    """Turn the SDK's exceptions into `TicketError`s with messages a caller can act on."""
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT.total_seconds()):
            yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise CommandRefused(message) from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise NoAnswer(
            f"ticket {ticket_id}: no worker answered within {ANSWER_TIMEOUT.total_seconds():g}s"
        ) from exc
    except WorkflowQueryFailedError as exc:  # e.g. a ticket still pinning its terms
        raise NotReady(f"ticket {ticket_id} cannot answer yet: {exc}") from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise TicketNotFound(f"ticket {ticket_id} not found") from exc
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise TemporalUnavailable(f"cannot reach Temporal: {exc.message}") from exc
        if exc.status == RPCStatusCode.FAILED_PRECONDITION and "no poller" in exc.message:
            raise NoAnswer(
                f"ticket {ticket_id}: no worker is polling its task queue "
                "(is `slaflow worker` running?)"
            ) from exc
        if exc.status == RPCStatusCode.FAILED_PRECONDITION:  # its workflow task keeps failing
            raise TicketBroken(
                f"ticket {ticket_id} is broken: {exc.message} (see the worker's log)"
            ) from exc
        raise


async def _answered(ticket_id: str, call: Awaitable[T]) -> T:
    async with _translated(ticket_id):
        return await call


def _handle(client: Client, ticket_id: str) -> WorkflowHandle[object, object]:
    return client.get_workflow_handle(workflow_id_for(ticket_id))


async def _query_state(handle: WorkflowHandle[object, object]) -> TicketView:
    return await handle.query(STATE_QUERY, datetime.now(UTC), result_type=TicketView)


async def _is_running(handle: WorkflowHandle[object, object]) -> bool:
    description = await handle.describe()
    return description.status == WorkflowExecutionStatus.RUNNING


def choose_agreement(engine: Engine, ticket: TicketInput) -> AgreementSelection:
    """The agreement the ticket gets (its customer's first matching rule, else the default);
    `UnknownCustomer` names the customer when none applies, before anything starts."""
    try:
        return agreement_store.select_for(
            engine, ticket.customer, ticket.service, ticket.channel, ticket.tags
        )
    except UnknownCustomerError as exc:
        raise UnknownCustomer(f"customer: {exc}") from exc


def with_opening(ticket: TicketInput) -> TicketInput:
    """The ticket with `opened_at` defaulted to now; `InvalidTicket` when it lies outside
    the window intake accepts (a date past 9999 broke every view that asked the ticket)."""
    now = datetime.now(UTC)
    if ticket.opened_at is None:
        return ticket.model_copy(update={"opened_at": now})
    problem = opened_at_problem(ticket.opened_at, now)
    if problem:
        raise InvalidTicket(f"opened_at: {problem}")
    return ticket


async def open_ticket(
    client: Client, task_queue: str, ticket: TicketInput, selection: AgreementSelection
) -> Opened:
    """Start the ticket's workflow under the agreement `choose_agreement` picked and answer
    once its terms are pinned; a duplicate intake gets the existing ticket back
    (created=False) and starts nothing."""
    view = await open_new_ticket(client, task_queue, ticket, selection)
    if view is not None:
        return Opened(view=view, created=True)
    handle = client.get_workflow_handle(workflow_id_for(ticket.ticket_id))
    async with _translated(ticket.ticket_id):
        return Opened(view=await _current_view(handle), created=False)


async def open_new_ticket(
    client: Client, task_queue: str, ticket: TicketInput, selection: AgreementSelection
) -> TicketView | None:
    """`open_ticket` for a caller that may not read tickets: None for a duplicate, whose
    state it must not see."""
    ticket = with_opening(ticket)
    async with _translated(ticket.ticket_id):
        try:
            handle = await client.start_workflow(
                WORKFLOW_TYPE,
                TicketWorkflowInput(ticket=ticket, selection=selection),
                id=workflow_id_for(ticket.ticket_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=attrs.ticket_attributes(
                    customer=ticket.customer,
                    agreement=selection.agreement_id,
                    priority=ticket.priority,
                    tier=Tier.AGENT,
                    status=TicketStatus.OPEN.value,
                    breached=False,
                ),
                static_summary=f"{ticket.priority} {ticket.customer}: {ticket.subject}"[:200],
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.INVALID_ARGUMENT and "search attribute" in (
                exc.message.lower()
            ):
                raise await _attributes_missing(client, exc) from exc
            raise
        except WorkflowAlreadyStartedError:
            return None
        return await handle.execute_update(SNAPSHOT_UPDATE, Snapshot(), result_type=TicketView)


async def _attributes_missing(client: Client, exc: RPCError) -> SearchAttributesMissing:
    """The refusal of a start for want of search attributes, naming the missing ones."""
    try:
        missing = await doctor.missing_search_attributes(client, client.namespace)
    except Exception:
        missing = []
    if not missing:
        return SearchAttributesMissing(f"Temporal refused the ticket's search attributes: {exc}")
    return SearchAttributesMissing(doctor.missing_message(client.namespace, missing))


async def _current_view(handle: WorkflowHandle[object, object]) -> TicketView:
    """A running ticket may still be pinning its terms: the snapshot update waits for that."""
    if await _is_running(handle):
        return await handle.execute_update(SNAPSHOT_UPDATE, Snapshot(), result_type=TicketView)
    return await _query_state(handle)


async def get_ticket(client: Client, ticket_id: str) -> TicketView:
    return await _answered(ticket_id, _query_state(_handle(client, ticket_id)))


class TicketDetail(TicketView):
    """A ticket's live state with a link to its workflow in the Temporal Web UI."""

    temporal_ui_url: str = Field(description="The ticket's workflow in the Temporal Web UI.")


def temporal_ui_url(settings: Settings, workflow_id: str) -> str:
    """`<SLAFLOW_TEMPORAL_UI_URL>/namespaces/<namespace>/workflows/<workflow id>`."""
    base = settings.temporal_ui_url.rstrip("/")
    namespace = quote_path(settings.temporal_namespace, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{quote_path(workflow_id, safe='')}"


def with_ui_link(view: TicketView, settings: Settings) -> TicketDetail:
    return TicketDetail.model_validate(
        {**view.model_dump(), "temporal_ui_url": temporal_ui_url(settings, view.workflow_id)}
    )


async def explain_ticket(client: Client, ticket_id: str) -> TicketExplanation:
    """Each deadline with the calendar, working spans and pauses behind it."""
    handle = _handle(client, ticket_id)
    return await _answered(
        ticket_id,
        handle.query(EXPLAIN_QUERY, datetime.now(UTC), result_type=TicketExplanation),
    )


async def run_command(client: Client, ticket_id: str, command: Command) -> TicketView:
    """Run one command as a workflow update; a refusal raises `CommandRefused` saying why."""
    name = command_name(command)
    handle = _handle(client, ticket_id)
    try:
        return await _answered(
            ticket_id, handle.execute_update(name, command, result_type=TicketView)
        )
    except TicketNotFound:
        # An update on a closed workflow is NOT_FOUND too; tell "closed" from "never existed".
        if await _answered(ticket_id, _is_running(handle)):
            raise
        raise TicketClosed(f"ticket {ticket_id} is closed") from None


TICKET_READ_FAILURES = Counter(
    "slaflow_ticket_read_failures",
    "Tickets a many-ticket view (board, list with detail, Slack /sla) could not read live; "
    "the view showed them as unreadable and went on. Lasting failures mean a broken ticket.",
    ["view"],
)
VIEWS = ("board", "list")


def unreadable(ticket_id: str, exc: BaseException, *, view: str) -> str:
    """Why a ticket could not be read, counted and logged (with the traceback when the
    failure is not one `_translated` knows)."""
    TICKET_READ_FAILURES.labels(view=view if view in VIEWS else "other").inc()
    if isinstance(exc, TicketError):
        log.warning("%s: ticket %s unreadable: %s", view, ticket_id, exc.message)
        return exc.message
    log.error("%s: ticket %s unreadable", view, ticket_id, exc_info=exc)
    return f"cannot read ticket {ticket_id}: {type(exc).__name__}: {exc}"


def _member(kind: type[E], value: str | None) -> E | None:
    """An enum member, or None for a missing or unknown value (old runs, manual edits)."""
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def summarize(execution: WorkflowExecution) -> TicketSummary:
    found = execution.typed_search_attributes
    return TicketSummary(
        ticket_id=execution.id.removeprefix(WORKFLOW_ID_PREFIX),
        workflow_id=execution.id,
        customer=found.get(attrs.CUSTOMER),
        agreement=found.get(attrs.AGREEMENT),
        priority=_member(Priority, found.get(attrs.PRIORITY)),
        tier=_member(Tier, found.get(attrs.TIER)),
        status=_member(TicketStatus, found.get(attrs.STATUS)),
        breached=found.get(attrs.BREACHED),
        started_at=execution.start_time,
        closed_at=execution.close_time,
        workflow_status=execution.status.name.lower() if execution.status else "unknown",
    )


async def list_tickets(
    client: Client, filters: TicketFilter, *, limit: int = 100, detail: bool = False
) -> TicketList:
    """Tickets matching `filters`, newest first, from Temporal visibility (eventually
    consistent: a ticket opened a moment ago may be missing). `detail` asks each running
    ticket for its live state."""
    query = build_list_query(filters)
    async with _translated("list"):
        tickets = [summarize(e) async for e in client.list_workflows(query, limit=limit)]
    if detail:
        gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

        async def fill(summary: TicketSummary) -> None:
            async with gate:
                try:
                    summary.detail = await get_ticket(client, summary.ticket_id)
                except Exception as exc:
                    summary.problem = unreadable(summary.ticket_id, exc, view="list")

        await asyncio.gather(*(fill(t) for t in tickets if t.workflow_status == "running"))
    return TicketList(query=query, count=len(tickets), tickets=tickets)
