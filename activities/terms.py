"""Pinning a ticket's terms: the agreement version in force, with its calendars resolved."""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import agreement_store
from activities.calendar_resolver import resolve_calendars
from slaflow.tickets import PinnedTerms
from workflows.activity_calls import PIN_TERMS, PinRequest

YEARS_BEFORE, YEARS_AFTER = 1, 2
"""Calendars are resolved for the opening year -1..+2: enough for any ticket's life."""


class TermsActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=PIN_TERMS)
    def pin_terms(self, request: PinRequest) -> PinnedTerms:
        year = request.opened_at.year
        if not MINYEAR + YEARS_BEFORE <= year <= MAXYEAR - YEARS_AFTER:
            # Its calendars cannot be resolved, now or on any retry: fail the ticket.
            raise ApplicationError(
                f"opened_at {request.opened_at.isoformat()} is out of range",
                type="OutOfRange",
                non_retryable=True,
            )
        try:
            if request.version is not None:
                row = agreement_store.version(self._engine, request.version, request.agreement_id)
            else:
                row = agreement_store.version_in_force(
                    self._engine, request.opened_at, request.agreement_id
                )
        except agreement_store.NoAgreementError as err:
            raise ApplicationError(str(err), type="NoAgreement") from err
        agreement = agreement_store.agreement_of(row)
        calendars = resolve_calendars(
            agreement.calendars,
            agreement.calendar_names(),
            year - YEARS_BEFORE,
            year + YEARS_AFTER,
        )
        return PinnedTerms(
            agreement_id=row.agreement_id,
            agreement_version=row.number,
            agreement=agreement,
            calendars=calendars,
        )
