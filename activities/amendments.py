"""Amendment activities: the impact report of a proposal, and committing a signed amendment.

`amendment_impact` re-evaluates the closed tickets of the last `ImpactSettings.impact_days`
days (from `ticket_facts`) under the amended version and under the proposal, with the same
business-time code as the ticket workflow (`slaflow.business_time.add_business_time`) and
calendars resolved by `resolve_calendars`, counting from each ticket's opening time and, like
the clocks, deducting the waits `ticket_facts` keeps (each version's pause rules decide which
target a wait stops) and taking the priority in force when each target was met. Tickets whose
facts were written before waits were kept count no pause.

`commit_amendment` stores the proposal as the next agreement version with its effective time,
signatures and diff against the version it amends, and records the amendment's revision,
rationale and `moves_open_tickets` beside it (`AmendmentCommitRow`). It refuses a stale
amendment (the latest version is no longer the amended one) with a non-retryable
`StaleAmendment`, and is idempotent: a retry after a lost reply finds its version by source.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import agreement_store
from activities.amendment_tables import AmendmentCommitRow
from activities.calendar_resolver import resolve_calendars
from activities.tables import AgreementVersionRow, TicketFactRow, as_utc
from slaflow import amendments as rules
from slaflow.agreement import Agreement
from slaflow.amendments import ClosedTicket, ImpactReport
from slaflow.calendars import ResolvedCalendar
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.tickets import PriorityChange, Wait
from slaflow.tiers import Channel, Priority
from workflows.amendment_calls import (
    AMENDMENT_IMPACT,
    COMMIT_AMENDMENT,
    STALE_AMENDMENT,
    CommitRequest,
    CommitResult,
    ImpactRequest,
)

IMPACT_DAYS = 90
"""How many days of closed tickets an amendment's impact report looks back over."""


class ImpactSettings(BaseSettings):
    """`SLAFLOW_IMPACT_DAYS` overrides the look-back of the impact report (default 90)."""

    model_config = SettingsConfigDict(env_prefix="SLAFLOW_", extra="ignore")
    impact_days: int = IMPACT_DAYS


def source_of(amendment_id: str) -> str:
    return f"amendment:{amendment_id}"


def closed_tickets(
    engine: Engine, since: datetime, until: datetime, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> list[ClosedTicket]:
    """One agreement's measured tickets closed in the window: an amendment's impact is
    measured on its own agreement's tickets only."""
    with Session(engine) as session:
        rows = session.exec(
            select(TicketFactRow)
            .where(TicketFactRow.status == "closed")
            .where(TicketFactRow.agreement_id == agreement_id)
            .where(col(TicketFactRow.measured))
            .where(col(TicketFactRow.closed_at) >= since)
            .where(col(TicketFactRow.closed_at) <= until)
        ).all()
    return [
        ClosedTicket(
            ticket_id=r.ticket_id,
            priority=Priority(r.priority),
            channel=Channel(r.channel),
            opened_at=as_utc(r.opened_at),
            first_response_at=as_utc(r.first_response_at) if r.first_response_at else None,
            resolved_at=as_utc(r.resolved_at) if r.resolved_at else None,
            acknowledged_at=as_utc(r.acknowledged_at) if r.acknowledged_at else None,
            waits=[Wait.model_validate(w) for w in r.waits or []],
            priority_changes=[PriorityChange.model_validate(c) for c in r.priority_changes or []],
        )
        for r in rows
    ]


def _calendars(agreement: Agreement, first: int, last: int) -> dict[str, ResolvedCalendar]:
    return resolve_calendars(agreement.calendars, agreement.calendar_names(), first, last)


def compute_impact(engine: Engine, request: ImpactRequest, window_days: int) -> ImpactReport:
    try:
        current_row = agreement_store.version(engine, request.amends_version, request.agreement_id)
    except agreement_store.NoAgreementError as err:
        raise ApplicationError(str(err), type="NoAgreement", non_retryable=True) from err
    current = agreement_store.agreement_of(current_row)
    until = request.until
    since = until - timedelta(days=window_days)
    tickets = closed_tickets(engine, since, until, request.agreement_id)
    years = [t.opened_at.year for t in tickets] or [until.year]
    first, last = min(years) - 1, max(years) + 1
    latest = agreement_store.latest_version(engine, request.agreement_id).number
    try:
        report = rules.impact(
            tickets,
            current,
            _calendars(current, first, last),
            request.agreement,
            _calendars(request.agreement, first, last),
            revision=request.revision,
            current_version=current_row.number,
            window_days=window_days,
            since=since,
            until=until,
        )
    except ValueError as err:  # an unknown zone or holiday country in a calendar
        raise ApplicationError(str(err), type="InvalidCalendar", non_retryable=True) from err
    return report.model_copy(update={"latest_version": latest})


def commit(engine: Engine, request: CommitRequest) -> CommitResult:
    source = source_of(request.amendment_id)
    with Session(engine) as session:
        done = session.exec(
            select(AgreementVersionRow).where(AgreementVersionRow.source == source)
        ).first()
    latest = agreement_store.latest_number(engine, request.agreement_id)
    if done is None:
        if latest != request.amends_version:
            raise ApplicationError(
                f"amendment {request.amendment_id} amends version {request.amends_version}, "
                f"but version {latest} is now the latest; propose it again against {latest}",
                type=STALE_AMENDMENT,
                non_retryable=True,
            )
        old = agreement_store.agreement_of(
            agreement_store.version(engine, request.amends_version, request.agreement_id)
        )
        changes = rules.agreement_diff(old, request.agreement)
        done = agreement_store.add_version(
            engine,
            request.agreement,
            effective_from=request.effective_from,
            source=source,
            agreement_id=request.agreement_id,
            signatures=[s.model_dump(mode="json") for s in request.signatures],
            diff=[c.model_dump(mode="json") for c in changes],
        )
    with Session(engine) as session:
        if session.get(AmendmentCommitRow, (done.agreement_id, done.number)) is None:
            session.add(
                AmendmentCommitRow(
                    agreement_id=done.agreement_id,
                    version=done.number,
                    amendment_id=request.amendment_id,
                    revision=request.revision,
                    rationale=request.rationale,
                    amends_version=request.amends_version,
                    moves_open_tickets=request.moves_open_tickets,
                    committed_at=datetime.now(UTC),
                )
            )
            session.commit()
    return CommitResult(
        version=done.number,
        effective_from=as_utc(done.effective_from),
        diff=[rules.Change.model_validate(c) for c in done.diff or []],
    )


def commit_record(
    engine: Engine, version: int, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> AmendmentCommitRow | None:
    with Session(engine) as session:
        return session.get(AmendmentCommitRow, (agreement_id, version))


class AmendmentActivities:
    """Built in worker.py with the database engine (sync: run on the worker's thread pool)."""

    def __init__(self, engine: Engine, settings: ImpactSettings | None = None) -> None:
        self._engine = engine
        self._settings = settings or ImpactSettings()

    @activity.defn(name=AMENDMENT_IMPACT)
    def amendment_impact(self, request: ImpactRequest) -> ImpactReport:
        return compute_impact(self._engine, request, self._settings.impact_days)

    @activity.defn(name=COMMIT_AMENDMENT)
    def commit_amendment(self, request: CommitRequest) -> CommitResult:
        return commit(self._engine, request)
