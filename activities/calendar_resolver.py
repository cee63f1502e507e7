"""Resolve agreement calendars into plain data for the workflow sandbox.

Runs outside the sandbox because it reads tzdata (zoneinfo) and the `holidays` package, neither
of which a workflow may touch: a tzdata or `holidays` upgrade on one worker would otherwise move
a running ticket's deadlines on replay. Called when a ticket pins its terms; the result travels
in the workflow's state and `slaflow.business_time` computes with it alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from slaflow.calendars import ALWAYS_OPEN, CalendarSpec, OffsetChange, ResolvedCalendar

_SCAN_STEP = 6 * 3600  # seconds; transitions are months apart, so none slips between samples
_MARGIN = 2 * 86400  # seconds beyond the year range, so local days at both edges are covered


def _zone(name: str, time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"calendar {name!r}: unknown time zone {time_zone!r}") from exc


def _offset(zone: ZoneInfo, timestamp: int) -> int:
    offset = datetime.fromtimestamp(timestamp, tz=zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset.total_seconds())


def zone_offsets(zone: ZoneInfo, first_year: int, last_year: int) -> list[OffsetChange]:
    """The offset in force at the range start, then every change to the exact second.

    Samples every few hours and bisects each change: a few thousand tzdata look-ups for four
    years, instead of relying on zoneinfo internals that are not public.
    """
    begin = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp()) - _MARGIN
    finish = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp()) + _MARGIN
    current = _offset(zone, begin)
    changes = [OffsetChange(at=datetime.fromtimestamp(begin, tz=UTC), offset_seconds=current)]
    at = begin
    while at < finish:
        sample = min(at + _SCAN_STEP, finish)
        if _offset(zone, sample) == current:
            at = sample
            continue
        lo, hi = at, sample  # offset(lo) == current != offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _offset(zone, mid) == current else (lo, mid)
        current = _offset(zone, hi)
        changes.append(OffsetChange(at=datetime.fromtimestamp(hi, tz=UTC), offset_seconds=current))
        at = hi
    return changes


def _holiday_dates(name: str, spec: CalendarSpec, first_year: int, last_year: int) -> list[date]:
    dates = set(spec.holidays)
    if spec.holiday_subdivision and not spec.holiday_country:
        raise ValueError(f"calendar {name!r}: holiday_subdivision needs a holiday_country")
    if spec.holiday_country:
        country, subdiv = spec.holiday_country, spec.holiday_subdivision
        supported = holidays_lib.list_supported_countries()
        if country not in supported:
            raise ValueError(f"calendar {name!r}: unknown holiday country {country!r}")
        if subdiv and subdiv not in supported[country]:
            known = ", ".join(supported[country]) or "none"
            raise ValueError(
                f"calendar {name!r}: unknown subdivision {subdiv!r} of {country} (known: {known})"
            )
        try:
            found = holidays_lib.country_holidays(
                country, subdiv=subdiv, years=range(first_year, last_year + 1)
            )
        except NotImplementedError as exc:
            raise ValueError(f"calendar {name!r}: {exc}") from exc
        dates.update(found.keys())
    return sorted(dates)


def resolve_calendar(
    name: str, spec: CalendarSpec, first_year: int, last_year: int
) -> ResolvedCalendar:
    """A calendar as plain data for the years first_year..last_year (inclusive)."""
    if last_year < first_year:
        raise ValueError(f"calendar {name!r}: last_year {last_year} before first_year {first_year}")
    zone = _zone(name, spec.time_zone)
    return ResolvedCalendar(
        name=name,
        time_zone=spec.time_zone,
        weekly_hours={day.number: list(ivs) for day, ivs in spec.weekly_hours.items() if ivs},
        holidays=_holiday_dates(name, spec, first_year, last_year),
        offsets=zone_offsets(zone, first_year, last_year),
        valid_from=date(first_year, 1, 1),
        valid_until=date(last_year, 12, 31),
    )


def resolve_calendars(
    specs: dict[str, CalendarSpec], names: set[str], first_year: int, last_year: int
) -> dict[str, ResolvedCalendar]:
    """The named calendars resolved, always including the built-in 24x7 one."""
    resolved = {ALWAYS_OPEN: ResolvedCalendar.always()}
    for name in sorted(names - {ALWAYS_OPEN}):
        if name not in specs:
            known = ", ".join(sorted({ALWAYS_OPEN, *specs}))
            raise ValueError(f"unknown calendar {name!r} (known: {known})")
        resolved[name] = resolve_calendar(name, specs[name], first_year, last_year)
    return resolved


__all__ = ["resolve_calendar", "resolve_calendars", "zone_offsets"]
