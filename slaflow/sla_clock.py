"""SLA target arithmetic: when a target warns and breaches, and how much of it is used.

A target counts business time of its calendar from the ticket's opening. Time in a closed pause
span (a pause, or resolved-until-reopened) does not count, so every future moment is the opening
plus the wanted amount plus the paused business time. An open pause has no future moments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from slaflow.business_time import (
    add_business_time,
    business_time_between,
    to_local,
    working_spans,
)
from slaflow.calendars import ResolvedCalendar
from slaflow.durations import format_duration
from slaflow.tickets import PauseExplanation, TargetClock, TargetExplanation, TargetView


def paused_time(cal: ResolvedCalendar, target: TargetClock) -> timedelta:
    """Business time inside the target's closed pause spans."""
    return sum(
        (business_time_between(cal, p.start, p.end) for p in target.pauses if p.end is not None),
        timedelta(0),
    )


def moment_of(cal: ResolvedCalendar, target: TargetClock, used: timedelta) -> datetime | None:
    """When `used` of the target's time will have been consumed; None while paused."""
    if target.paused:
        return None
    return add_business_time(cal, target.started_at, used + paused_time(cal, target))


def deadline_of(cal: ResolvedCalendar, target: TargetClock) -> datetime | None:
    """The breach moment, computed even for a met target (reports compare against it).
    A breached target's deadline is its breach: a pause that starts later does not move it."""
    if target.breached_at is not None:
        return target.breached_at
    if target.paused:
        return None
    return moment_of(cal, target, target.within)


def warning_moment(cal: ResolvedCalendar, target: TargetClock, percent: int) -> datetime | None:
    return moment_of(cal, target, target.within * percent / 100)


def used_time(cal: ResolvedCalendar, target: TargetClock, now: datetime) -> timedelta:
    """Business time consumed so far: up to now, the meeting, or the open pause's start."""
    end = now
    if target.met_at is not None:
        end = target.met_at
    elif target.paused:
        end = target.pauses[-1].start
    return business_time_between(cal, target.started_at, end) - paused_time(cal, target)


def counted_until(cal: ResolvedCalendar, target: TargetClock, moment: datetime) -> timedelta:
    """Business time the target's clock counted from its start to `moment`: its calendar's
    hours, minus its pauses before `moment` (business-time MTTA and MTTR)."""
    if moment <= target.started_at:
        return timedelta(0)
    paused = sum(
        (
            business_time_between(cal, p.start, min(p.end or moment, moment))
            for p in target.pauses
            if p.start < moment
        ),
        timedelta(0),
    )
    return business_time_between(cal, target.started_at, moment) - paused


def paused_so_far(cal: ResolvedCalendar, target: TargetClock, now: datetime) -> timedelta:
    """Paused business time including a pause still running."""
    total = paused_time(cal, target)
    if target.paused and target.met_at is None:
        total += business_time_between(cal, target.pauses[-1].start, now)
    return total


def target_status(target: TargetClock) -> str:
    if target.met_at is not None:
        return "met_late" if target.breached_at is not None else "met"
    if target.breached_at is not None:
        return "breached"
    return "paused" if target.paused else "running"


def view_target(cal: ResolvedCalendar, target: TargetClock, now: datetime) -> TargetView:
    """A target as a person reads it: deadline, time left, state."""
    open_target = target.met_at is None
    deadline = deadline_of(cal, target) if open_target else None
    used = used_time(cal, target, now)
    remaining = (target.within - used) if open_target else None
    return TargetView(
        kind=target.kind,
        within_seconds=target.within.total_seconds(),
        calendar=target.calendar,
        deadline=deadline,
        deadline_local=to_local(cal, deadline) if deadline else None,
        remaining_seconds=remaining.total_seconds() if remaining is not None else None,
        elapsed_seconds=used.total_seconds(),
        paused_seconds=paused_so_far(cal, target, now).total_seconds(),
        status=target_status(target),
        met_at=target.met_at,
        breached_at=target.breached_at,
    )


MAX_EXPLAINED_SPANS = 60


def _moment(cal: ResolvedCalendar, moment: datetime, *, utc_too: bool = True) -> str:
    """A moment in the calendar's zone to the second, with UTC beside it only when the zone
    is not UTC itself (else the same time would be printed twice)."""
    local = to_local(cal, moment).isoformat(timespec="seconds")
    utc = moment.astimezone(UTC).isoformat(timespec="seconds")
    return local if local == utc or not utc_too else f"{local} ({utc})"


def explain_target(cal: ResolvedCalendar, target: TargetClock, now: datetime) -> TargetExplanation:
    """The arithmetic behind a deadline, for people: which hours counted, which were paused."""
    deadline = deadline_of(cal, target)
    end = target.met_at or deadline or now
    spans = [
        (to_local(cal, a), to_local(cal, b))
        for a, b in islice(working_spans(cal, target.started_at, end), MAX_EXPLAINED_SPANS)
    ]
    pauses = [
        PauseExplanation(
            start=p.start,
            end=p.end,
            reason=p.reason,
            business_seconds=business_time_between(cal, p.start, p.end or now).total_seconds(),
        )
        for p in target.pauses
    ]
    paused = paused_so_far(cal, target, now)
    if deadline is None:
        outcome = "no deadline while paused"
    elif target.breached_at is not None:
        outcome = f"breached at {_moment(cal, deadline)}"
    else:
        outcome = f"deadline {_moment(cal, deadline)}"
    summary = (
        f"{format_duration(target.within)} of {cal.name} time from "
        f"{_moment(cal, target.started_at, utc_too=False)}"
        + (f" plus {format_duration(paused)} paused" if paused else "")
        + f": {outcome}"
        + (f"; met at {_moment(cal, target.met_at)}" if target.met_at else "")
    )
    return TargetExplanation(
        kind=target.kind,
        calendar=cal.name,
        calendar_rule=cal.describe(),
        started_at=target.started_at,
        within_seconds=target.within.total_seconds(),
        pauses=pauses,
        paused_seconds=paused.total_seconds(),
        deadline=deadline,
        deadline_local=to_local(cal, deadline) if deadline else None,
        counted_spans=spans,
        summary=summary,
    )
