"""Service-level objectives over a window and their error budgets: pure arithmetic.

"95 % of P1 first responses within target per calendar month" allows 5 % of the month's P1
tickets to miss: that share is the window's error budget. This module says where a window
starts and ends, which tickets it counts, how much of its budget is spent, and which warnings
are due. No I/O: the activities feed it ticket outcomes, the workflow and API show its answers.

Decisions, and why:

- **Windows are in UTC.** Weeks start on Monday 00:00 UTC (ISO weeks), months on the 1st at
  00:00 UTC. The agreement has no single time zone (each business calendar has its own, and
  24x7 objectives have none), ticket facts are stored in UTC, and UTC windows are the same for
  every party and every database. Against a Europe/Berlin reading a window's edge moves by one
  or two hours; an objective measured over a month does not hinge on that.
- **A ticket counts in the window it was opened in.** Its deadline is not stored with its facts
  and, on business calendars, cannot be derived from the opening time and the target alone;
  the opening time is stored, indexed, and known at intake, so every ticket belongs to exactly
  one window from the start (reports and amendment impact group by opening as well). A ticket
  opened late on the last day counts in that window even if its target falls due in the next.
- **A ticket is measured once its target's outcome is decided**: met (responded or resolved) or
  missed (breached, whether or not it was met late). A running, unbreached target is not
  measured yet. Misses of open tickets come from Temporal visibility as soon as they breach, so
  the warning goes out while the window can still be saved; met targets count once the ticket's
  facts are written (on resolve), which errs on the side of warning early, never late.
- **Budget.** allowed misses = (1 - percent / 100) x measured tickets; spent % = misses /
  allowed misses x 100. A window with no measured ticket has spent nothing. The state is
  `exhausted` at 100 % spent or more (one more miss, or this one, loses the window),
  `warning` from the objective's `warn_when_spent`, else `ok`.
- **Few tickets.** Below `min_volume` measured tickets (1 / (1 - percent / 100), rounded up:
  20 at 95 %), the budget is smaller than one whole miss, so a single miss exhausts it. That is
  reported as it is, flagged `low_volume`, because it is true: were the window to close now, it
  would have missed its objective, and a manager would rather hear of the first P1 miss of a
  quiet month than after it. The projected figures beside it (the measured count at the
  window's end at the rate so far, and the budget that volume would allow) show whether normal
  volume would still absorb the miss. The state is never softened by a projection: a forecast
  early in a window is noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from slaflow.agreement import ServiceLevelObjective, TargetName
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.tiers import Priority

WindowKind = Literal["week", "month"]
State = Literal["ok", "warning", "exhausted"]
Threshold = Literal["warning", "exhausted", "missed"]
"""`missed` is the closing notice: the window ended below its objective."""


class Window(BaseModel):
    """[start, end) in UTC."""

    kind: WindowKind
    start: AwareDatetime
    end: AwareDatetime

    @property
    def label(self) -> str:
        """ "November 2026" or "week of 2026-11-23"."""
        if self.kind == "month":
            return self.start.strftime("%B %Y")
        return f"week of {self.start:%Y-%m-%d}"


def previous_window(kind: WindowKind, at: datetime) -> Window:
    """The week or month that ended last before the one containing `at`."""
    current = window_bounds(kind, at)
    return window_bounds(kind, current.start - timedelta(microseconds=1))


def window_bounds(kind: WindowKind, at: datetime) -> Window:
    """The week or calendar month (UTC) that contains `at` (an aware datetime)."""
    if at.tzinfo is None:
        raise ValueError("window_bounds needs an aware datetime")
    at = at.astimezone(UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "week":
        start = midnight - timedelta(days=midnight.weekday())
        return Window(kind=kind, start=start, end=start + timedelta(days=7))
    start = midnight.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return Window(kind=kind, start=start, end=end)


class MeasuredTicket(BaseModel):
    """What an objective needs of one ticket. Per target: True missed, False met, None not
    decided yet (still running)."""

    ticket_id: str
    priority: Priority
    opened_at: AwareDatetime
    agreement_id: str = DEFAULT_AGREEMENT_ID
    first_response_missed: bool | None = None
    resolution_missed: bool | None = None

    def missed(self, target: TargetName) -> bool | None:
        return self.first_response_missed if target == "first_response" else self.resolution_missed


def _either(a: bool | None, b: bool | None) -> bool | None:
    """Two reports of one target: a miss is final, a met beats unknown."""
    if a is None:
        return b
    if b is None:
        return a
    return a or b


def merge_tickets(*sources: Iterable[MeasuredTicket]) -> list[MeasuredTicket]:
    """One entry per ticket from several sources (stored facts, live visibility): a ticket that
    resolved, was reopened and breached again appears in both, and a breach in either counts."""
    merged: dict[str, MeasuredTicket] = {}
    for source in sources:
        for ticket in source:
            seen = merged.get(ticket.ticket_id)
            if seen is None:
                merged[ticket.ticket_id] = ticket
                continue
            merged[ticket.ticket_id] = seen.model_copy(
                update={
                    "first_response_missed": _either(
                        seen.first_response_missed, ticket.first_response_missed
                    ),
                    "resolution_missed": _either(seen.resolution_missed, ticket.resolution_missed),
                }
            )
    return sorted(merged.values(), key=lambda t: (t.opened_at, t.ticket_id))


def count(
    objective: ServiceLevelObjective, window: Window, tickets: Iterable[MeasuredTicket]
) -> tuple[int, int]:
    """(measured, misses): tickets of the objective's priority opened in the window whose
    target is decided, and those of them that missed."""
    measured = misses = 0
    for ticket in tickets:
        if objective.priority is not None and ticket.priority is not objective.priority:
            continue
        if not window.start <= ticket.opened_at < window.end:
            continue
        missed = ticket.missed(objective.target)
        if missed is None:
            continue
        measured += 1
        misses += missed
    return measured, misses


def _exact(percent: float) -> Fraction:
    """95.0 -> 95, 99.9 -> 999/10: decimal percentages compared without float error."""
    return Fraction(str(percent))


def min_volume(percent: float) -> int:
    """Measured tickets needed before the budget allows one whole miss (20 at 95 %)."""
    return math.ceil(1 / (1 - _exact(percent) / 100))


class ObjectiveStatus(BaseModel):
    """One objective over its current window: counts, budget, state."""

    objective: str = Field(description="e.g. P1-first_response-month")
    priority: Priority | None
    target: TargetName
    percent: float
    warn_when_spent: int
    window: Window
    as_of: AwareDatetime
    measured: int = Field(description="Tickets opened in the window whose target is decided.")
    misses: int = Field(description="Of those, targets breached.")
    compliance_percent: float | None = Field(description="Met share of measured; None if none.")
    allowed_misses: float = Field(description="(1 - percent/100) x measured.")
    remaining_misses: float = Field(description="Allowed minus misses; negative when lost.")
    spent_percent: float = Field(description="Misses over allowed misses, in percent.")
    state: State
    low_volume: bool = Field(description="Too few tickets for the budget to allow one miss.")
    elapsed_percent: float = Field(description="How far into the window as_of is.")
    projected_measured: int | None = Field(
        description="Measured tickets at the window's end at the rate so far."
    )
    projected_allowed_misses: float | None = Field(
        description="The budget that projected volume would allow."
    )
    notified: list[Threshold] = Field(
        default_factory=list, description="Warnings already sent for this window."
    )
    final: bool = Field(False, description="The window has ended: this is its closing figure.")
    met: bool | None = Field(
        None, description="Closing verdict: misses within the allowed share (None while open)."
    )


def state_of(spent: Fraction, warn_when_spent: int) -> State:
    if spent >= 100:
        return "exhausted"
    if spent >= warn_when_spent:
        return "warning"
    return "ok"


def objective_status(
    objective: ServiceLevelObjective,
    window: Window,
    measured: int,
    misses: int,
    as_of: datetime,
    notified: Iterable[Threshold] = (),
    *,
    final: bool = False,
) -> ObjectiveStatus:
    """The budget arithmetic of one objective (see the module docstring for the rules);
    `final` for a window's closing figure, which carries its verdict."""
    if not 0 <= misses <= measured:
        raise ValueError(f"misses ({misses}) must be between 0 and measured ({measured})")
    share = 1 - _exact(objective.percent) / 100
    allowed = share * measured
    spent = Fraction(0) if misses == 0 else Fraction(misses) / allowed * 100
    length = (window.end - window.start).total_seconds()
    elapsed = min(max((as_of - window.start).total_seconds(), 0.0), length) / length
    projected = round(measured / elapsed) if elapsed > 0 else None
    return ObjectiveStatus(
        objective=objective.name,
        priority=objective.priority,
        target=objective.target,
        percent=objective.percent,
        warn_when_spent=objective.warn_when_spent,
        window=window,
        as_of=as_of,
        measured=measured,
        misses=misses,
        compliance_percent=round(100 * (measured - misses) / measured, 2) if measured else None,
        allowed_misses=round(float(allowed), 2),
        remaining_misses=round(float(allowed - misses), 2),
        spent_percent=round(float(spent), 1),
        state=state_of(spent, objective.warn_when_spent),
        low_volume=measured < min_volume(objective.percent),
        elapsed_percent=round(100 * elapsed, 1),
        projected_measured=projected,
        projected_allowed_misses=None if projected is None else round(float(share * projected), 2),
        notified=sorted(set(notified)),
        final=final,
        met=(misses <= allowed) if final else None,
    )


def statuses(
    objectives: Iterable[ServiceLevelObjective],
    tickets: Iterable[MeasuredTicket],
    as_of: datetime,
    notified: dict[tuple[str, datetime], set[Threshold]] | None = None,
) -> list[ObjectiveStatus]:
    """Every objective's status over its window containing `as_of`."""
    tickets = list(tickets)
    result = []
    for objective in objectives:
        window = window_bounds(objective.window, as_of)
        measured, misses = count(objective, window, tickets)
        sent = (notified or {}).get((objective.name, window.start), set())
        result.append(objective_status(objective, window, measured, misses, as_of, sent))
    return result


def closing_statuses(
    objectives: Iterable[ServiceLevelObjective],
    tickets: Iterable[MeasuredTicket],
    as_of: datetime,
    notified: dict[tuple[str, datetime], set[Threshold]] | None = None,
) -> list[ObjectiveStatus]:
    """Every objective's closing figure over its window that ended last before `as_of`: the
    tickets opened in it, as decided by `as_of` (a ticket still running is not measured)."""
    tickets = list(tickets)
    result = []
    for objective in objectives:
        window = previous_window(objective.window, as_of)
        measured, misses = count(objective, window, tickets)
        sent = (notified or {}).get((objective.name, window.start), set())
        status = objective_status(objective, window, measured, misses, as_of, sent, final=True)
        result.append(status)
    return result


def notices_due(status: ObjectiveStatus) -> list[Threshold]:
    """The warning to send now, if any: `exhausted` once when the budget is gone, `warning`
    once when `warn_when_spent` is crossed. A window that jumps straight to exhausted gets only
    that notice (it says more), and no warning follows it should the share fall back. A
    closed window that missed its objective gets `missed`, once."""
    sent = set(status.notified)
    if status.final:
        return ["missed"] if status.met is False and "missed" not in sent else []
    if status.state == "exhausted" and "exhausted" not in sent:
        return ["exhausted"]
    if status.state == "warning" and not sent:
        return ["warning"]
    return []


THRESHOLDS: tuple[Threshold, ...] = ("warning", "exhausted", "missed")


def notice_key(
    objective: str,
    window: Window,
    threshold: Threshold,
    medium: str,
    agreement_id: str = DEFAULT_AGREEMENT_ID,
) -> str:
    """The idempotency key of one warning: the same for every retry and every run in the
    window, so the notification store lets it out once. The default agreement's keys are
    those from before agreements were many, so no warning already sent goes out again."""
    scope = "" if agreement_id == DEFAULT_AGREEMENT_ID else f"{agreement_id}/"
    return f"service-levels/{scope}{objective}/{window.start:%Y-%m-%d}/{threshold}/{medium}"
