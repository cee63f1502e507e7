"""Human durations ("4h", "1d 2h", "90s") for agreement files, round-tripping as ISO 8601."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$")


def parse_duration(value: Any) -> Any:
    """Turn "1d 4h 30m" into a timedelta; leave anything else for pydantic (ISO 8601, seconds)."""
    if isinstance(value, str) and _WHOLE.match(value.lower()):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value.lower()))
        return timedelta(seconds=seconds)
    return value


MAX_DURATION = timedelta(days=3660)
"""No duration slaflow deals in (targets, windows, intervals) needs more than ten years; a
longer one only overflows date arithmetic (`9999999w` past the year 9999)."""


def bounded(value: timedelta) -> timedelta:
    if not -MAX_DURATION <= value <= MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION.days} days")
    return value


def format_duration(value: timedelta) -> str:
    """The shortest human form of a duration: 90 minutes -> "1h 30m"."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    sign, total = ("-", -total) if total < 0 else ("", total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + " ".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(bounded),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A timedelta that accepts "4h" in YAML and JSON and writes itself back the same way."""
