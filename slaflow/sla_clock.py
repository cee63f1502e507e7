"""SLA target arithmetic: when a target warns and breaches, and how much of it is used.

A target counts business time of its calendar from the ticket's opening. Time in a closed pause
span (a pause, or resolved-until-reopened) does not count, so every future moment is the opening
plus the wanted amount plus the paused business time. An open pause has no future moments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slaflow.business_time import add_business_time, business_time_between
from slaflow.calendars import ResolvedCalendar
from slaflow.tickets import TargetClock, TargetView


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
    """The breach moment, computed even for a met target (reports compare against it)."""
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
    remaining = (target.within - used_time(cal, target, now)) if open_target else None
    return TargetView(
        kind=target.kind,
        within_seconds=target.within.total_seconds(),
        calendar=target.calendar,
        deadline=deadline,
        remaining_seconds=remaining.total_seconds() if remaining is not None else None,
        status=target_status(target),
        met_at=target.met_at,
        breached_at=target.breached_at,
    )
