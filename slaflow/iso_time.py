"""Dates and times as the OpenAPI document promises them: ISO 8601 text, never a number.

Pydantic alone also takes a number (or a string of digits) as Unix seconds, so `0` would be a
ticket opened in 1970; these types refuse that with a message saying what to send."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_NUMERIC = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _text_only(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.match(value)):
        raise ValueError("must be ISO 8601 text such as 2026-11-23 or 2026-11-23T09:00:00Z")
    return value


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""The window every date a caller sends must lie in: far wider than any ticket, agreement or
report needs, and far enough from the year 9999 that adding a target cannot overflow."""


def window_problem(value: datetime) -> str | None:
    if not EARLIEST <= value < LATEST:
        return f"must lie between {EARLIEST.year} and {LATEST.year - 1}"
    return None


def _in_window(value: datetime) -> datetime:
    problem = window_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _day_in_window(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year - 1}")
    return value


BoundedDatetime = Annotated[AwareDatetime, AfterValidator(_in_window)]
"""An aware datetime within [EARLIEST, LATEST)."""
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
"""Unbounded, since workflows decode it too (a ticket must never fail to load): the edge
bounds a ticket's opening (`slaflow.tickets.opened_at_problem`)."""
IsoDate = Annotated[date, BeforeValidator(_text_only), AfterValidator(_day_in_window)]
BoundedIsoDatetime = Annotated[
    AwareDatetime, BeforeValidator(_text_only), AfterValidator(_in_window)
]
"""ISO 8601 text only, within [EARLIEST, LATEST): for moments callers record (outages)."""
