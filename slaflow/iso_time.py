"""Dates and times as the OpenAPI document promises them: ISO 8601 text, never a number.

Pydantic alone also takes a number (or a string of digits) as Unix seconds, so `0` would be a
ticket opened in 1970; these types refuse that with a message saying what to send."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_NUMERIC = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def _text_only(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.match(value)):
        raise ValueError("must be ISO 8601 text such as 2026-11-23 or 2026-11-23T09:00:00Z")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
IsoDate = Annotated[date, BeforeValidator(_text_only)]
