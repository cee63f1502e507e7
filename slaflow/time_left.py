"""Time left before a deadline, as people read it in emails, Slack and pages, without lying.

Cutting to whole minutes made "52 s left" read "due now". Here the seconds stay visible while
they matter (under ten minutes), and larger amounts are rounded so that the words never
promise more time than there is: time left rounds down, time overdue rounds down too (it is
"overdue by at least"), so neither direction overstates.
"""

from __future__ import annotations

import math

SECONDS_SHOWN_BELOW = 600
"""Below ten minutes, seconds are shown ("4m 52s"); above, whole minutes."""


def _amount(seconds: int) -> str:
    """A whole number of seconds as '52s', '4m 52s', '17m', '3h 5m', '2d 4h'."""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < SECONDS_SHOWN_BELOW:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m {rest}s" if rest else f"{minutes}m"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def describe_time_left(seconds: float) -> str:
    """'52s left', '4m 52s left', '3h 5m left', 'due now' (under a second either side), or
    'overdue by 1m 10s'. Never rounds time left up: 59.9 seconds is '59s left'."""
    if math.isnan(seconds):
        raise ValueError("seconds must be a number")
    whole = math.floor(abs(seconds))
    if whole == 0:
        return "due now"
    return f"overdue by {_amount(whole)}" if seconds < 0 else f"{_amount(whole)} left"
