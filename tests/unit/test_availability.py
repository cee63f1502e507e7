"""Availability per service over a month, worked by hand: planned and unplanned outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from slaflow.availability import Outage, OutageInput, overlapping, service_availability

NOV, DEC = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)  # 43,200 min
H = timedelta(hours=1)


def outage(n: int, service: str, start: datetime, minutes: int, planned: bool = False) -> Outage:
    end = start + timedelta(minutes=minutes)
    return Outage(id=n, service=service, start=start, end=end, planned=planned)


OUTAGES = [
    outage(1, "Hosting", datetime(2026, 11, 3, 10, tzinfo=UTC), 30),  # unplanned
    outage(2, "Hosting", datetime(2026, 11, 8, 1, tzinfo=UTC), 300, planned=True),  # 5h planned
    outage(3, "Backups", datetime(2026, 10, 31, 23, 50, tzinfo=UTC), 30),  # 20 min in November
    outage(4, "Backups", datetime(2026, 11, 15, 2, tzinfo=UTC), 120, planned=True),
]


def test_hosting_misses_once_planned_time_exceeds_the_allowance() -> None:
    s = service_availability("Hosting", OUTAGES, NOV, DEC, 99.9, 4 * H)
    # 30 min unplanned + (5h planned - 4h allowed) = 90 min of 43,200: 99.7917 %
    assert (s.outages, s.unplanned_seconds, s.planned_seconds) == (2, 1800, 18000)
    assert (s.excused_seconds, s.counted_seconds) == (14400, 5400)
    assert s.availability_percent == 99.7917 and s.met is False


def test_backups_count_only_their_minutes_inside_the_month_and_meet() -> None:
    s = service_availability("Backups", OUTAGES, NOV, DEC, 99.9, 4 * H)
    # 20 min unplanned in November; 2h planned, all excused: 43,180 / 43,200 = 99.9537 %
    assert (s.counted_seconds, s.excused_seconds) == (1200, 7200)
    assert s.availability_percent == 99.9537 and s.met is True


def test_without_an_allowance_planned_maintenance_counts() -> None:
    s = service_availability("Backups", OUTAGES, NOV, DEC, 99.9, timedelta(0))
    assert s.counted_seconds == 1200 + 7200 and s.met is False


def test_a_service_without_outages_is_fully_available() -> None:
    s = service_availability("Mail", OUTAGES, NOV, DEC, 99.9, 4 * H)
    assert (s.availability_percent, s.outages, s.met) == (100, 0, True)


def test_an_outage_ending_before_it_starts_is_refused_naming_end() -> None:
    with pytest.raises(ValidationError) as refused:
        OutageInput(service="Hosting", start=NOV + H, end=NOV)
    error = refused.value.errors()[0]
    assert error["loc"] == ("end",) and "must be after start" in error["msg"]


def test_overlap_is_found_for_the_same_service_only() -> None:
    new = OutageInput(service="Hosting", start=datetime(2026, 11, 3, 10, 20, tzinfo=UTC),
                      end=datetime(2026, 11, 3, 11, tzinfo=UTC))  # fmt: skip
    clash = overlapping(new, OUTAGES)
    assert clash is not None and clash.id == 1
    other = new.model_copy(update={"service": "Mail"})
    assert overlapping(other, OUTAGES) is None
    touching = new.model_copy(update={"start": datetime(2026, 11, 3, 10, 30, tzinfo=UTC)})
    assert overlapping(touching, OUTAGES) is None  # back to back is not overlapping
