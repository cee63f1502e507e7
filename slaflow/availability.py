"""Availability of a service over a month: outages against the agreement's target.

Decisions, and why:

- **Time is wall-clock UTC**, as availability is promised around the clock: a month is
  [1st 00:00 UTC, next 1st), and every outage counts for the part of it inside the month.
- **Planned maintenance is excused up to the agreement's allowance** a month
  (`maintenance_allowance`), earliest first; planned time beyond it counts as downtime, as
  does every unplanned outage. An agreement without an allowance excuses nothing.
- **Outages of one service never overlap**: the record is refused, so no minute is counted
  twice and the figures need no merging.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from slaflow.iso_time import BoundedIsoDatetime


class OutageInput(BaseModel):
    """An outage as recorded: which service, from when to when, planned or not."""

    model_config = {"extra": "forbid"}

    service: str = Field(min_length=1, max_length=200)
    start: BoundedIsoDatetime
    end: BoundedIsoDatetime
    planned: bool = Field(False, description="Planned maintenance announced in advance.")
    note: str = Field("", max_length=2000)

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"must be after start ({start.isoformat()})")
        return end


class Outage(OutageInput):
    id: int


def overlapping(new: OutageInput, held: Iterable[Outage]) -> Outage | None:
    """The first recorded outage of the same service that shares time with `new`."""
    return next(
        (o for o in held if o.service == new.service and o.start < new.end and new.start < o.end),
        None,
    )


class ServiceAvailability(BaseModel):
    service: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    outages: int
    unplanned_seconds: float
    planned_seconds: float
    excused_seconds: float = Field(description="Planned time within the monthly allowance.")
    counted_seconds: float = Field(description="Downtime counted against the target.")
    availability_percent: float
    target_percent: float
    met: bool


def _inside(outage: Outage, start: datetime, end: datetime) -> timedelta:
    return max(min(outage.end, end) - max(outage.start, start), timedelta(0))


def service_availability(
    service: str,
    outages: Iterable[Outage],
    start: datetime,
    end: datetime,
    target_percent: float,
    allowance: timedelta,
) -> ServiceAvailability:
    """One service's month: its downtime, what planned maintenance is excused, the figure."""
    mine = sorted(
        (o for o in outages if o.service == service and _inside(o, start, end)),
        key=lambda o: o.start,
    )
    unplanned = sum((_inside(o, start, end) for o in mine if not o.planned), timedelta(0))
    planned = sum((_inside(o, start, end) for o in mine if o.planned), timedelta(0))
    excused = min(planned, allowance)
    counted = unplanned + planned - excused
    length = end - start
    percent = 100 * (length - counted) / length
    return ServiceAvailability(
        service=service,
        period_start=start,
        period_end=end,
        outages=len(mine),
        unplanned_seconds=unplanned.total_seconds(),
        planned_seconds=planned.total_seconds(),
        excused_seconds=excused.total_seconds(),
        counted_seconds=counted.total_seconds(),
        availability_percent=round(percent, 4),
        target_percent=target_percent,
        met=percent >= target_percent,
    )
