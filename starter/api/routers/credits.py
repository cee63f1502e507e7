"""`GET /reports/credits` and `/reports/credits.csv`: what a customer's month of missed
targets costs, per agreement and ticket by ticket (rules in `slaflow.credits`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from starter.api.deps import EngineDep
from starter.api.errors import json_responses, responses
from starter.credits_service import (
    MONTH_PATTERN,
    CreditReport,
    CreditsError,
    credit_report,
    to_csv,
)

router = APIRouter(prefix="/reports", tags=["reports"])

Customer = Annotated[
    str, Query(min_length=1, max_length=200, description="The customer's id (or ticket name).")
]
Month = Annotated[
    str, Query(pattern=MONTH_PATTERN, description="The month, YYYY-MM (UTC).", examples=["2026-11"])
]


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


def _report(engine: EngineDep, customer: str, month: str) -> CreditReport:
    try:
        return credit_report(engine, customer, month)
    except CreditsError as error:
        raise HTTPException(404, detail=str(error)) from error


@router.get(
    "/credits",
    response_model=CreditReport,
    summary="Service credits owed for a customer's month, per rule and ticket by ticket",
    responses=responses(401, 403, 404, 422),
)
def credits(engine: EngineDep, customer: Customer, month: Month) -> CreditReport:
    """Each of the customer's agreements: every missed target a credit rule covers, each
    rule's total against its cap, and the month's total in percent and, with a monthly fee,
    money."""
    return _report(engine, customer, month)


@router.get(
    "/credits.csv",
    response_class=CsvResponse,
    summary="The credit statement as CSV: miss rows, rule rows, an owed row per agreement",
    responses={
        200: {"description": "A header, then rows.", "content": {"text/csv": {}}},
        **json_responses(401, 403, 404, 422),
    },
)
def credits_csv(engine: EngineDep, customer: Customer, month: Month) -> CsvResponse:
    return CsvResponse(
        to_csv(_report(engine, customer, month)),
        headers={"Content-Disposition": f'attachment; filename="credits-{month}.csv"'},
    )
