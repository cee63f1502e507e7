"""Business-time arithmetic: properties, worked examples around DST and holidays, the sandbox.

Imports go through `imports_passed_through` because Temporal's sandbox re-imports this module
for the workflow defined below; module-level code therefore stays pure (calendars are resolved
lazily, outside the sandbox).
"""

from __future__ import annotations

import ast
import shutil
import sys
import time as clock
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from activities.calendar_resolver import resolve_calendar, resolve_calendars
    from slaflow import business_time
    from slaflow.business_time import (
        add_business_time,
        business_time_between,
        next_working_instant,
        to_local,
        working_spans,
    )
    from slaflow.calendars import CalendarSpec, ResolvedCalendar

H = timedelta(hours=1)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
ALL_DAYS = [*WEEKDAYS, "saturday", "sunday"]

SPECS: dict[str, dict[str, Any]] = {
    "office": {  # the worked-example calendar
        "time_zone": "Europe/Berlin",
        "weekly_hours": {d: ["09:00-17:00"] for d in WEEKDAYS},
        "holiday_country": "DE",
        "holiday_subdivision": "NW",
    },
    "split": {
        "time_zone": "Europe/Berlin",
        "weekly_hours": {d: ["09:00-12:00", "13:00-17:00"] for d in WEEKDAYS},
    },
    "night": {
        "time_zone": "Europe/Berlin",
        "weekly_hours": {d: ["22:00-06:00"] for d in ALL_DAYS},
        "holiday_country": "DE",
        "holiday_subdivision": "NW",
    },
    "whole_days": {
        "time_zone": "Europe/Berlin",
        "weekly_hours": {d: ["00:00-24:00"] for d in ALL_DAYS},
    },
    "gap_edges": {  # interval bounds inside the spring gap and the repeated autumn hour
        "time_zone": "Europe/Berlin",
        "weekly_hours": {"sunday": ["02:30-04:00"], "wednesday": ["10:00-11:00"]},
    },
    "new_york": {  # overlapping intervals, one across midnight
        "time_zone": "America/New_York",
        "weekly_hours": {
            "monday": ["08:00-18:00", "17:00-02:00"],
            "tuesday": ["00:00-24:00"],
            "friday": ["08:00-12:00"],
        },
        "holiday_country": "US",
    },
    "sydney": {
        "time_zone": "Australia/Sydney",
        "weekly_hours": {d: ["08:30-17:30"] for d in WEEKDAYS},
        "holiday_country": "AU",
        "holiday_subdivision": "NSW",
    },
}
# Calendars whose interval bounds are never ambiguous or skipped: "working" is then simply
# "the local wall clock is inside an interval of a non-holiday day", checkable via zoneinfo.
PLAIN = ["office", "split", "night", "whole_days", "sydney"]


@cache
def cal(name: str, first_year: int = 2025, last_year: int = 2028) -> ResolvedCalendar:
    if name == "24x7":
        return ResolvedCalendar.always()
    return resolve_calendar(name, CalendarSpec.model_validate(SPECS[name]), first_year, last_year)


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=ZoneInfo("Europe/Berlin"))


def local(name: str, instant: datetime) -> datetime:
    """The instant on the calendar's wall clock, naive, for readable assertions."""
    return to_local(cal(name), instant).replace(tzinfo=None)


# ---------------------------------------------------------------- properties

YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)
DST_WEEKS = [datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 10, 22, tzinfo=UTC)]

instants = st.one_of(
    st.integers(0, 365 * 86400 * 10**6).map(lambda us: YEAR_2026 + timedelta(microseconds=us)),
    st.tuples(st.sampled_from(DST_WEEKS), st.integers(0, 5 * 86400)).map(
        lambda p: p[0] + timedelta(seconds=p[1])
    ),
)
amounts = st.integers(0, 400 * 3600).map(lambda s: timedelta(seconds=s))
calendars = st.sampled_from([*SPECS, "24x7"])
PROPS = settings(max_examples=100, deadline=None)


@PROPS
@given(calendars, instants, amounts)
def test_add_then_measure_round_trips(name: str, start: datetime, amount: timedelta) -> None:
    due = add_business_time(cal(name), start, amount)
    assert business_time_between(cal(name), start, due) == amount


@PROPS
@given(calendars, instants, amounts, amounts)
def test_add_is_monotone(name: str, start: datetime, a: timedelta, b: timedelta) -> None:
    small, big = sorted((a, b))
    assert add_business_time(cal(name), start, small) <= add_business_time(cal(name), start, big)


@PROPS
@given(calendars, instants, amounts.filter(bool))
def test_result_ends_working_time(name: str, start: datetime, amount: timedelta) -> None:
    """A deadline is never in the off-hours after a span: working time runs right up to it."""
    due = add_business_time(cal(name), start, amount)
    spans = list(working_spans(cal(name), start, due))
    assert spans[-1][1] == due
    assert business_time_between(cal(name), due - timedelta(microseconds=1), due) > timedelta(0)


@PROPS
@given(instants, st.integers(-86400, 400 * 3600).map(lambda s: timedelta(seconds=s)))
def test_always_open_is_wall_clock(start: datetime, delta: timedelta) -> None:
    always = cal("24x7")
    if delta >= timedelta(0):
        assert add_business_time(always, start, delta) == start + delta
    assert business_time_between(always, start, start + delta) == max(delta, timedelta(0))


@PROPS
@given(calendars, instants, amounts, amounts)
def test_between_is_additive(name: str, start: datetime, a: timedelta, b: timedelta) -> None:
    mid, end = start + a, start + a + b
    whole = business_time_between(cal(name), start, end)
    assert whole == business_time_between(cal(name), start, mid) + business_time_between(
        cal(name), mid, end
    )
    assert business_time_between(cal(name), end, start) == timedelta(0)


@PROPS
@given(calendars, instants, amounts)
def test_spans_are_ordered_disjoint_and_sum_up(name: str, start: datetime, span: timedelta) -> None:
    spans = list(working_spans(cal(name), start, start + span))
    flat = [t for s in spans for t in s]
    assert flat == sorted(flat)
    assert all(s < e for s, e in spans)
    assert all(e < s for (_, e), (s, _) in pairwise(spans))  # maximal
    assert all(t.tzinfo is UTC for t in flat)
    assert not spans or (spans[0][0] >= start and spans[-1][1] <= start + span)
    total = sum((e - s for s, e in spans), timedelta(0))
    assert total == business_time_between(cal(name), start, start + span)


@PROPS
@given(calendars, instants)
def test_next_working_instant(name: str, instant: datetime) -> None:
    nxt = next_working_instant(cal(name), instant)
    assert nxt >= instant
    assert business_time_between(cal(name), instant, nxt) == timedelta(0)
    assert business_time_between(cal(name), nxt, nxt + timedelta(seconds=1)) > timedelta(0)


def _working_by_zoneinfo(name: str, instant: datetime) -> bool:
    """Reference: is the zoneinfo wall clock inside an interval of a non-holiday local day?"""
    spec, resolved = CalendarSpec.model_validate(SPECS[name]), cal(name)
    wall = instant.astimezone(ZoneInfo(spec.time_zone)).replace(tzinfo=None)
    for day in (wall.date() - timedelta(days=1), wall.date()):
        if day in resolved.holidays:
            continue
        for iv in resolved.weekly_hours.get(day.weekday(), []):
            begin = datetime.combine(day, iv.start)
            end = datetime.combine(day + timedelta(days=iv.crosses_midnight), iv.end)
            if begin <= wall < end:
                return True
    return False


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PLAIN), instants, st.integers(1, 4 * 24 * 4))
def test_matches_zoneinfo_reference(name: str, start: datetime, quarters: int) -> None:
    """Every quarter hour on a grid counts exactly when zoneinfo says the office is open."""
    start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
    step = timedelta(minutes=15)
    expected = sum(_working_by_zoneinfo(name, start + i * step) for i in range(quarters)) * step
    assert business_time_between(cal(name), start, start + quarters * step) == expected


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([n for n in SPECS]), instants)
def test_to_local_agrees_with_zoneinfo(name: str, instant: datetime) -> None:
    zone = ZoneInfo(SPECS[name]["time_zone"])
    assert to_local(cal(name), instant).utcoffset() == instant.astimezone(zone).utcoffset()
    assert to_local(cal(name), instant) == instant


# ---------------------------------------------------------------- worked examples


def test_friday_evening_ticket_is_due_monday_evening() -> None:
    due = add_business_time(cal("office"), berlin(2026, 3, 6, 17, 30), 8 * H)
    assert due == berlin(2026, 3, 9, 17, 0)
    assert due.tzinfo is UTC


def test_easter_holidays_are_skipped() -> None:
    # Good Friday 2026-04-03 and Easter Monday 2026-04-06 are holidays in NW.
    due = add_business_time(cal("office"), berlin(2026, 4, 2, 17, 30), 8 * H)
    assert local("office", due) == datetime(2026, 4, 7, 17, 0)
    start = berlin(2026, 4, 2, 9, 0)
    assert business_time_between(cal("office"), start, berlin(2026, 4, 8, 9, 0)) == 16 * H


def test_spring_forward_weekend() -> None:
    start = berlin(2026, 3, 27, 13, 0)  # Friday, +01:00
    due = add_business_time(cal("office"), start, 8 * H)
    assert to_local(cal("office"), due).isoformat() == "2026-03-30T13:00:00+02:00"
    assert due - start == 71 * H  # the weekend lost an hour of wall clock
    assert business_time_between(cal("office"), start, due) == 8 * H


def test_fall_back_weekend() -> None:
    start = berlin(2026, 10, 23, 13, 0)  # Friday, +02:00
    due = add_business_time(cal("office"), start, 8 * H)
    assert to_local(cal("office"), due).isoformat() == "2026-10-26T13:00:00+01:00"
    assert due - start == 73 * H


def test_interval_crossing_midnight() -> None:
    night = cal("night")
    due = add_business_time(night, berlin(2026, 3, 13, 23, 0), 6 * H)  # Friday night
    assert local("night", due) == datetime(2026, 3, 14, 5, 0)
    # Saturday 22:00 to Sunday 06:00 over the spring-forward lasts 7 real hours.
    shift = (berlin(2026, 3, 28, 22, 0), berlin(2026, 3, 29, 6, 0))
    assert business_time_between(night, *shift) == 7 * H
    assert list(working_spans(night, *shift)) == [shift]
    assert add_business_time(night, shift[0], 7 * H) == shift[1]
    # The autumn shift lasts 9.
    assert business_time_between(night, berlin(2026, 10, 24, 12), berlin(2026, 10, 25, 12)) == 9 * H


def test_night_shift_belongs_to_the_day_it_starts() -> None:
    # Thursday night runs into Good Friday and counts; Good Friday night does not.
    worked = business_time_between(cal("night"), berlin(2026, 4, 2, 20), berlin(2026, 4, 4, 12))
    assert worked == 8 * H


def test_whole_day_interval_counts_real_hours_on_dst_days() -> None:
    days = cal("whole_days")
    assert business_time_between(days, berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert business_time_between(days, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H
    week = (berlin(2026, 3, 23), berlin(2026, 3, 30))
    assert list(working_spans(days, *week)) == [week]  # day boundaries are not gaps
    assert add_business_time(days, week[0], 167 * H) == week[1]


def test_bounds_in_the_gap_and_the_repeated_hour() -> None:
    edges = cal("gap_edges")
    # 02:30 does not exist on 2026-03-29: the interval starts when the gap ends (03:00 CEST).
    spring = list(working_spans(edges, berlin(2026, 3, 29), berlin(2026, 3, 30)))
    assert spring == [(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), berlin(2026, 3, 29, 4, 0))]
    # 02:30 happens twice on 2026-10-25: the first one (CEST) starts the interval.
    autumn = business_time_between(edges, berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert autumn == timedelta(hours=2, minutes=30)
    ordinary = business_time_between(edges, berlin(2026, 3, 22), berlin(2026, 3, 23))
    assert ordinary == timedelta(hours=1, minutes=30)


def test_holidays_on_weekends_change_nothing() -> None:
    plain = cal("split")
    spec = CalendarSpec.model_validate(
        {**SPECS["split"], "holidays": [date(2026, 3, 7), date(2026, 3, 8)]}
    )
    with_weekend_holidays = resolve_calendar("split", spec, 2026, 2026)
    for hours in range(0, 40, 3):
        for start in (berlin(2026, 3, 6, 15), berlin(2026, 3, 7, 10), berlin(2026, 3, 8, 23)):
            expected = add_business_time(plain, start, hours * H)
            assert add_business_time(with_weekend_holidays, start, hours * H) == expected


def test_two_intervals_a_day() -> None:
    split = cal("split")
    assert local("split", add_business_time(split, berlin(2026, 3, 2, 11), 2 * H)) == datetime(
        2026, 3, 2, 14
    )
    assert add_business_time(split, berlin(2026, 3, 2, 9), 7 * H) == berlin(2026, 3, 2, 17)
    assert add_business_time(split, berlin(2026, 3, 2, 11), 1 * H) == berlin(2026, 3, 2, 12)
    assert add_business_time(split, berlin(2026, 3, 2, 11, 30), 1 * H) == berlin(2026, 3, 2, 13, 30)
    assert next_working_instant(split, berlin(2026, 3, 2, 12, 30)) == berlin(2026, 3, 2, 13)
    assert next_working_instant(split, berlin(2026, 3, 2, 10)) == berlin(2026, 3, 2, 10)
    assert next_working_instant(split, berlin(2026, 3, 7, 10)) == berlin(2026, 3, 9, 9)
    day = list(working_spans(split, berlin(2026, 3, 2, 10), berlin(2026, 3, 3)))
    assert day == [
        (berlin(2026, 3, 2, 10), berlin(2026, 3, 2, 12)),
        (berlin(2026, 3, 2, 13), berlin(2026, 3, 2, 17)),
    ]


def test_overlapping_intervals_count_once() -> None:
    ny = cal("new_york")
    monday = datetime(2026, 3, 2, tzinfo=ZoneInfo("America/New_York"))
    # Monday 08:00-18:00 and 17:00-02:00, then all of Tuesday: one stretch of 40 hours.
    spans = list(working_spans(ny, monday, monday + 3 * 24 * H))
    assert spans == [(monday + 8 * H, monday + 48 * H)]


def test_zero_amount_and_start_in_off_hours() -> None:
    saturday = berlin(2026, 3, 7, 10)
    assert add_business_time(cal("office"), saturday, timedelta(0)) == saturday
    assert add_business_time(cal("office"), saturday, timedelta(seconds=1)) == berlin(
        2026, 3, 9, 9, 0, 1
    )


def test_past_the_resolved_range_weekly_hours_and_last_offset_hold() -> None:
    short = cal("office", 2026, 2026)  # last known offset: +01:00; no 2027 holidays known
    monday = datetime(2027, 7, 5, 8, 0, tzinfo=UTC)  # 09:00 at +01:00
    assert add_business_time(short, monday, H) == monday + H
    assert to_local(short, monday).utcoffset() == H
    ascension = datetime(2027, 5, 6, tzinfo=UTC)  # a holiday nobody resolved
    assert business_time_between(short, ascension, ascension + 24 * H) == 8 * H
    far = add_business_time(short, datetime(2030, 1, 1, tzinfo=UTC), 2000 * H)  # a Tuesday
    assert to_local(short, far).isoformat() == "2030-12-16T17:00:00+01:00"  # 250 weekdays on


def test_calendar_without_working_time_is_rejected() -> None:
    never = ResolvedCalendar(name="never")
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(never, YEAR_2026, H)
    mondays = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(60)]
    all_holidays = ResolvedCalendar(
        name="holidays",
        weekly_hours=cal("office").weekly_hours | {},
        holidays=[d + timedelta(days=i) for d in mondays for i in range(5)],
    )
    with pytest.raises(ValueError, match="400 days"):
        add_business_time(all_holidays, datetime(2026, 1, 5, tzinfo=UTC), H)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(cal("office"), YEAR_2026, -H)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(cal("office"), datetime(2026, 1, 1), H)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(cal("office"), datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_adding_2000_business_hours_is_fast() -> None:
    office, start = cal("office"), berlin(2026, 1, 2, 12)
    best = min(_timed(lambda: add_business_time(office, start, 2000 * H)) for _ in range(5))
    assert best < 0.010
    best = min(
        _timed(lambda: business_time_between(office, start, berlin(2027, 1, 2))) for _ in "ab"
    )
    assert best < 0.010


def _timed(call: Any) -> float:
    began = clock.perf_counter()
    call()
    return clock.perf_counter() - began


# ---------------------------------------------------------------- resolving


def test_berlin_2026_offsets_are_the_two_transitions() -> None:
    resolved = cal("office", 2026, 2026)
    first, *changes = resolved.offsets
    assert first.at <= datetime(2026, 1, 1, tzinfo=UTC) and first.offset_seconds == 3600
    assert [(c.at, c.offset_seconds) for c in changes] == [
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),
    ]
    assert (resolved.valid_from, resolved.valid_until) == (date(2026, 1, 1), date(2026, 12, 31))


def test_resolved_holidays_and_hours() -> None:
    spec = CalendarSpec.model_validate({**SPECS["office"], "holidays": ["2026-12-24"]})
    resolved = resolve_calendar("office", spec, 2026, 2027)
    assert {date(2026, 4, 6), date(2027, 3, 29), date(2026, 12, 24)} <= set(resolved.holidays)
    assert resolved.holidays == sorted(resolved.holidays)
    assert sorted(resolved.weekly_hours) == [0, 1, 2, 3, 4]
    assert cal("sydney").offsets[0].offset_seconds == 11 * 3600  # summer in January


def test_utc_calendar_has_one_offset() -> None:
    spec = CalendarSpec.model_validate({"weekly_hours": {"monday": ["09:00-17:00"]}})
    assert [o.offset_seconds for o in resolve_calendar("utc", spec, 2026, 2029).offsets] == [0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"time_zone": "../etc/passwd"}, "unknown time zone"),
        ({"holiday_country": "XX"}, "unknown holiday country 'XX'"),
        ({"holiday_subdivision": "ZZ"}, "unknown subdivision 'ZZ' of DE"),
        ({"holiday_country": None}, "needs a holiday_country"),
    ],
)
def test_bad_specs_raise_value_error(change: dict[str, Any], message: str) -> None:
    spec = CalendarSpec.model_validate({**SPECS["office"], **change})
    with pytest.raises(ValueError, match=message) as raised:
        resolve_calendar("office", spec, 2026, 2026)
    assert "'office'" in str(raised.value)


def test_resolve_calendars() -> None:
    specs = {n: CalendarSpec.model_validate(s) for n, s in SPECS.items()}
    resolved = resolve_calendars(specs, {"office", "24x7"}, 2026, 2027)
    assert set(resolved) == {"office", "24x7"}
    assert resolved["24x7"].always_open
    assert set(resolve_calendars(specs, set(), 2026, 2027)) == {"24x7"}
    with pytest.raises(ValueError, match="'lunar'"):
        resolve_calendars(specs, {"office", "lunar"}, 2026, 2027)


def test_resolving_four_years_is_fast() -> None:
    spec = CalendarSpec.model_validate(SPECS["office"])
    resolve_calendar("office", spec, 2026, 2029)  # loads the holidays country module once
    best = min(_timed(lambda: resolve_calendar("office", spec, 2026, 2029)) for _ in range(3))
    assert best < 0.050


# ---------------------------------------------------------------- the real workflow sandbox


class DeadlineInput(BaseModel):
    calendar: ResolvedCalendar
    start: datetime
    amount: timedelta


@workflow.defn(sandboxed=True)
class DeadlineWorkflow:
    """Runs the arithmetic where TicketWorkflow runs it: inside Temporal's sandbox."""

    @workflow.run
    async def run(self, request: DeadlineInput) -> datetime:
        return add_business_time(request.calendar, request.start, request.amount)


def test_business_time_imports_nothing_impure() -> None:
    """The sandbox test passes the module through, so guard what it imports statically."""
    tree = ast.parse(Path(business_time.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "bisect", "collections.abc", "datetime", "slaflow.calendars"}


def _temporal_test_server() -> str:
    found = shutil.which("temporal-test-server") or shutil.which(
        "temporal-test-server", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.skip("temporal-test-server is not installed")
    return found


async def test_add_business_time_inside_the_workflow_sandbox() -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    # The sandbox re-imports this module; hypothesis imports lazily, so pass the test tools.
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "hypothesis", "pytest", "_pytest"
    )

    request = DeadlineInput(calendar=cal("office"), start=berlin(2026, 4, 2, 17, 30), amount=8 * H)
    queue = f"business-time-{uuid.uuid4()}"
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=_temporal_test_server(),
            data_converter=pydantic_data_converter,
        ) as env,
        Worker(
            env.client,
            task_queue=queue,
            workflows=[DeadlineWorkflow],
            workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
        ),
    ):
        due = await env.client.execute_workflow(
            DeadlineWorkflow.run, request, id=f"deadline-{uuid.uuid4()}", task_queue=queue
        )
    assert due == berlin(2026, 4, 7, 17, 0)
    assert to_local(cal("office"), due).isoformat() == "2026-04-07T17:00:00+02:00"
