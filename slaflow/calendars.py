"""Business calendars: as written in an agreement, and as resolved for the workflow sandbox.

An agreement names calendars (time zone, weekly working hours, holidays). Workflows cannot read
time-zone files or import `holidays` inside Temporal's sandbox, and must not: a tzdata update on
one worker would change a running ticket's deadlines on replay. So a calendar is *resolved* once,
when a ticket pins its terms (an activity): its UTC-offset changes and holiday dates for a span of
years become plain data carried in the workflow, and `slaflow.business_time` computes with that
data only. A ticket's deadlines therefore never move under it.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

ALWAYS_OPEN = "24x7"
"""The built-in calendar: every hour of every day counts, in UTC."""


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday, as `date.weekday()` counts."""
        return list(Weekday).index(self)


_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _parse_interval(value: Any) -> Any:
    if isinstance(value, str):
        match = _INTERVAL.match(value)
        if not match:
            raise ValueError(f"working interval {value!r} is not of the form 'HH:MM-HH:MM'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0  # "24:00" is midnight at the end of the day
        return {"start": time(h1, m1), "end": time(h2, m2)}
    return value


class WorkingInterval(BaseModel):
    """Working time on one weekday, local time. An end at or before the start runs past
    midnight into the next day; "00:00-24:00" (or "00:00-00:00") is the whole day."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


Interval = Annotated[WorkingInterval, BeforeValidator(_parse_interval)]


class CalendarSpec(BaseModel):
    """A named calendar as the agreement file states it."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field("UTC", description="IANA zone name, e.g. Europe/Berlin.")
    weekly_hours: dict[Weekday, list[Interval]] = Field(
        default_factory=dict, description="Working intervals per weekday; missing days are off."
    )
    holidays: list[date] = Field(default_factory=list, description="Listed non-working dates.")
    holiday_country: str | None = Field(
        None, description="Country code of the `holidays` package, e.g. DE."
    )
    holiday_subdivision: str | None = Field(None, description="Subdivision, e.g. NW.")

    @model_validator(mode="after")
    def _some_hours(self) -> CalendarSpec:
        if not any(self.weekly_hours.values()):
            raise ValueError("weekly_hours names no working interval: the clock would never run")
        return self


class OffsetChange(BaseModel):
    """From `at` (UTC) on, local time is UTC plus `offset_seconds`."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    offset_seconds: int


class ResolvedCalendar(BaseModel):
    """A calendar reduced to plain data for a span of years: what `business_time` needs."""

    name: str
    time_zone: str = "UTC"
    always_open: bool = False
    weekly_hours: dict[int, list[WorkingInterval]] = Field(
        default_factory=dict, description="Weekday index (0 = Monday) to working intervals."
    )
    holidays: list[date] = Field(default_factory=list)
    offsets: list[OffsetChange] = Field(
        default_factory=list,
        description="Offset changes in time order; the first applies to all earlier instants.",
    )
    valid_from: date = date(1970, 1, 1)
    valid_until: date = date(9999, 12, 31)

    @classmethod
    def always(cls, name: str = ALWAYS_OPEN) -> ResolvedCalendar:
        """The built-in 24x7 calendar."""
        return cls(name=name, always_open=True)

    def describe(self) -> str:
        """One line for explanations: which hours count."""
        if self.always_open:
            return f"{self.name}: every hour counts (24x7)"
        days = ", ".join(
            f"{list(Weekday)[d].value[:3]} " + " ".join(str(i) for i in intervals)
            for d, intervals in sorted(self.weekly_hours.items())
            if intervals
        )
        return f"{self.name} ({self.time_zone}): {days}; {len(self.holidays)} holidays"
