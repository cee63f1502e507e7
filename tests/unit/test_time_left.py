"""Time left as people read it: seconds kept while they matter, never more time than there is."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.time_left import describe_time_left


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (52.7, "52s left"),
        (0.4, "due now"),
        (-0.9, "due now"),
        (59.99, "59s left"),
        (60, "1m left"),
        (292, "4m 52s left"),
        (599, "9m 59s left"),
        (600, "10m left"),
        (3599, "59m left"),
        (3600 + 5 * 60 + 59, "1h 5m left"),
        (7200, "2h left"),
        (3 * 86400 + 4 * 3600 + 10, "3d 4h left"),
        (-70, "overdue by 1m 10s"),
        (-52, "overdue by 52s"),
        (-7260, "overdue by 2h 1m"),
    ],
)
def test_words_for_time_left(seconds: float, words: str) -> None:
    assert describe_time_left(seconds) == words


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="number"):
        describe_time_left(math.nan)


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _seconds_said(words: str) -> int:
    amount = words.removeprefix("overdue by ").removesuffix(" left")
    return sum(int(part[:-1]) * _UNITS[part[-1]] for part in amount.split())


@given(st.floats(min_value=1, max_value=400 * 86400))
def test_never_promises_more_time_than_is_left(seconds: float) -> None:
    words = describe_time_left(seconds)
    said = _seconds_said(words)
    assert words.endswith(" left")
    assert said <= seconds
    # ...and never says much less: at most a minute off, or an hour past two days.
    assert seconds - said < (3600 if seconds >= 48 * 3600 else 60)


@given(st.floats(min_value=1, max_value=599))
def test_under_ten_minutes_the_seconds_are_exact(seconds: float) -> None:
    assert _seconds_said(describe_time_left(seconds)) == math.floor(seconds)


@given(st.floats(min_value=-400 * 86400, max_value=-1))
def test_overdue_is_never_overstated(seconds: float) -> None:
    words = describe_time_left(seconds)
    assert words.startswith("overdue by ")
    assert _seconds_said(words) <= -seconds
