"""Human durations ("4h", "1d 2h", "90s") for agreement files, round-tripping as ISO 8601."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_WORDS = {
    **{word: "w" for word in ("w", "wk", "wks", "week", "weeks")},
    **{word: "d" for word in ("d", "day", "days")},
    **{word: "h" for word in ("h", "hr", "hrs", "hour", "hours")},
    **{word: "m" for word in ("m", "min", "mins", "minute", "minutes")},
    **{word: "s" for word in ("s", "sec", "secs", "second", "seconds")},
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*")
_NEXT_UNIT = {"w": "d", "d": "h", "h": "m", "m": "s"}
"""A bare number after a unit counts the next smaller one: '1h30' is 1h 30m."""
_TRAILING = re.compile(r"^(.*[a-z])\s*(\d+)$")
_ISO = re.compile(r"^[+-]?p")
_SECONDS = re.compile(r"^[+-]?\d+(\.\d+)?$")
ACCEPTED_FORMS = (
    "such as '4h', '1h 30m', '1h30', '90s', '60 seconds', '2 days' "
    "(units: w, d, h, m, s or the words week, day, hour, minute, second) or ISO 8601 'PT4H'"
)


def _human_seconds(text: str) -> float | None:
    """Seconds of '1d 4h 30m', '60 seconds', '1h30'; None if `text` is not in that form."""
    trailing = _TRAILING.match(text)
    body, extra = (trailing.group(1), trailing.group(2)) if trailing else (text, None)
    position, seconds, last = 0, 0.0, None
    for match in _PART.finditer(body):
        unit = _UNIT_WORDS.get(match.group(2))
        if match.start() != position or unit is None:
            return None
        seconds += float(match.group(1)) * _UNIT_SECONDS[unit]
        position, last = match.end(), unit
    if position != len(body) or last is None:
        return None
    if extra is not None:
        if last not in _NEXT_UNIT:
            return None
        seconds += int(extra) * _UNIT_SECONDS[_NEXT_UNIT[last]]
    return seconds


def parse_duration(value: Any) -> Any:
    """Turn "1d 4h 30m", "60 seconds" or "1h30" into a timedelta; leave ISO 8601 ("PT4H") and
    numbers (seconds) to pydantic; refuse any other text naming the accepted forms."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if _ISO.match(text):
        return value
    if _SECONDS.match(text):
        return timedelta(seconds=float(text))
    sign = -1 if text.startswith("-") else 1
    seconds = _human_seconds(text.lstrip("+-").strip())
    if seconds is None:
        raise ValueError(f"{value!r} is not a duration; write a positive duration {ACCEPTED_FORMS}")
    return timedelta(seconds=sign * seconds)


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
