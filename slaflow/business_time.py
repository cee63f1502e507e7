"""Business-time arithmetic over a `ResolvedCalendar`: pure, so workflows can run it on replay.

No zoneinfo, no `holidays`, no clock: the calendar carries its UTC-offset changes and holiday
dates as data (see `slaflow.calendars`), so a deadline depends only on the pinned calendar and
the arguments. Internally every instant is an int of microseconds since the Unix epoch (UTC) and
every wall-clock time an int of "local microseconds" (the wall clock read as if it were UTC):
exact, and fast enough to walk a year of working days in about a millisecond.

Semantics: a local interval bound that does not exist (spring-forward gap) maps to the instant
the gap ends; an ambiguous one (fall-back) to its first occurrence; an interval therefore counts
its real elapsed time on a DST day. A holiday is a local date whose intervals (including one
that starts there and runs past midnight) do not count. Past the resolved range the weekly hours
and the last known offset keep applying.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone

from slaflow.calendars import ResolvedCalendar

__all__ = [
    "add_business_time",
    "business_time_between",
    "next_working_instant",
    "to_local",
    "working_spans",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_US = timedelta(microseconds=1)
_DAY = 86_400_000_000
_MAX_OFFSET = 26 * 3_600_000_000  # no zone is further than this from UTC
MAX_IDLE_DAYS = 400
"""Days scanned without any working time before a calendar is declared never open."""


def _us(instant: datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"business time needs timezone-aware datetimes, got {instant!r}")
    return (instant - _EPOCH) // _US


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class _Compiled:
    """The calendar as ints, built once per call (cheap) so the day loop does no model access."""

    __slots__ = ("holidays", "intervals", "offsets", "starts")

    def __init__(self, cal: ResolvedCalendar) -> None:
        self.holidays = {d.toordinal() for d in cal.holidays}
        self.intervals: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for weekday, intervals in cal.weekly_hours.items():
            for iv in intervals:
                start, end = _time_us(iv.start), _time_us(iv.end)
                self.intervals[weekday].append((start, end + _DAY if end <= start else end))
            self.intervals[weekday].sort()
        changes = sorted(cal.offsets, key=lambda o: o.at)
        self.starts = [_us(o.at) for o in changes]
        self.offsets = [o.offset_seconds * 1_000_000 for o in changes] or [0]

    def offset_at(self, us: int) -> int:
        return self.offsets[max(bisect_right(self.starts, us) - 1, 0)]

    def to_utc(self, local: int) -> int:
        """Wall clock to instant: first occurrence if ambiguous, the gap's end if skipped."""
        starts, offsets, n = self.starts, self.offsets, len(self.starts)
        if n <= 1:
            return local - offsets[0]
        lo = max(bisect_right(starts, local - _MAX_OFFSET) - 1, 0)
        hi = max(bisect_right(starts, local + _MAX_OFFSET) - 1, 0)
        for j in range(lo, hi + 1):  # regions in time order: the first fit is the earliest
            utc = local - offsets[j]
            if (j == 0 or starts[j] <= utc) and (j + 1 == n or utc < starts[j + 1]):
                return utc
        for j in range(max(lo, 1), hi + 1):  # in no region: a gap, which ends at a change
            if local - offsets[j] < starts[j]:
                return starts[j]
        return local - offsets[hi]  # unreachable for a sorted table; stay total anyway

    def spans(self, from_us: int) -> Iterator[tuple[int, int]]:
        """Disjoint working spans in time order, each ending after `from_us`; endless.

        Walks local days from the one before `from_us` (its interval may cross midnight).
        A span overlapping an earlier one is trimmed, so nothing is counted twice.
        """
        if not any(self.intervals):
            raise ValueError("calendar has no working hours: the clock would never run")
        ordinal = (from_us + self.offset_at(from_us)) // _DAY + _EPOCH_ORDINAL - 1
        covered = from_us
        idle = 0
        while True:
            found = False
            if ordinal not in self.holidays:
                day = (ordinal - _EPOCH_ORDINAL) * _DAY
                for start, end in self.intervals[(ordinal - 1) % 7]:
                    s, e = max(self.to_utc(day + start), covered), self.to_utc(day + end)
                    if e > s:
                        found = True
                        covered = e
                        yield s, e
            idle = 0 if found else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise ValueError(f"no working time in {MAX_IDLE_DAYS} days: the clock never runs")
            ordinal += 1


def add_business_time(cal: ResolvedCalendar, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant by which `amount` of working time has elapsed since `start`.

    A positive amount therefore ends inside or exactly at the end of a working span, never
    in the off-hours after it: a deadline of 8 business hours from Friday 17:30 is Monday 17:00.
    """
    if amount < timedelta(0):
        raise ValueError(f"cannot add a negative business time ({amount})")
    if amount == timedelta(0) or cal.always_open:
        _us(start)  # reject naive datetimes consistently
        return start.astimezone(UTC) + amount  # UTC first: aware arithmetic is wall-clock
    begin, remaining = _us(start), amount // _US
    for s, e in _Compiled(cal).spans(begin):
        length = e - s
        if remaining <= length:
            return _dt(s + remaining)
        remaining -= length
    raise AssertionError("unreachable: spans() is endless")


def business_time_between(cal: ResolvedCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time inside [start, end); zero when end <= start."""
    return sum(((e - s) for s, e in working_spans(cal, start, end)), timedelta(0))


def working_spans(
    cal: ResolvedCalendar, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The working time inside [start, end) as maximal UTC spans in order, clipped to the window.

    Touching spans (a night shift running into a whole-day interval) come out as one span.
    """
    lo, hi = _us(start), _us(end)
    if hi <= lo:
        return
    if cal.always_open:
        yield _dt(lo), _dt(hi)
        return
    pending: tuple[int, int] | None = None
    for s, e in _Compiled(cal).spans(lo):
        if s >= hi:
            break
        s, e = max(s, lo), min(e, hi)
        if pending is not None and s == pending[1]:
            pending = (pending[0], e)
            continue
        if pending is not None:
            yield _dt(pending[0]), _dt(pending[1])
        pending = (s, e)
    if pending is not None:
        yield _dt(pending[0]), _dt(pending[1])


def to_local(cal: ResolvedCalendar, instant: datetime) -> datetime:
    """The instant on the calendar's wall clock, with a fixed-offset tzinfo from its table."""
    offset = _Compiled(cal).offset_at(_us(instant)) if cal.offsets else 0
    tz = UTC if offset == 0 else timezone(timedelta(microseconds=offset))
    return instant.astimezone(tz)


def next_working_instant(cal: ResolvedCalendar, instant: datetime) -> datetime:
    """`instant` itself if working time is running then, else where it next starts (UTC)."""
    if cal.always_open:
        return instant.astimezone(UTC)
    at = _us(instant)
    for s, _e in _Compiled(cal).spans(at):
        return _dt(max(s, at))
    raise AssertionError("unreachable: spans() is endless")
