"""Service-level figures from ticket facts: pure functions, no I/O, one place for definitions.

Every figure here is defined once, in this module's docstrings; the README and the API repeat
these words. The database side (`starter/reports_service.py`) only loads rows and calls these.

**Which tickets.** A report covers the tickets *opened* in its period ``[from, to)`` (by
``opened_at``, UTC). Facts are written when a ticket resolves, closes, breaches a target or
reopens, so a row is the ticket as it is now (a reopened ticket is not resolved). Of those,
`Counting` says which a report counts, and the report names it: ``resolved`` (resolved at
least once) or ``completed_or_breached`` (also open tickets with a breached target).

**Figures of a group** (`GroupFigures`):

* ``opened``: tickets of the group opened in the period. ``resolved``: of those, currently
  resolved or closed; ``closed``: of those, closed (the reopen window has passed).
* **Compliance** against the targets pinned when the ticket opened, per target (first response,
  resolution): ``measured`` = tickets whose target is decided (met, or breached), ``met`` =
  measured and never breached; ``compliance = met / measured`` (a fraction in [0, 1], ``None``
  when nothing was measured). Whether a target breached is the ticket's own verdict, counted in
  **business time** of its calendar with its pauses excluded, exactly as the workflow escalated.
* **MTTA**: mean time to acknowledge, ``acknowledged_at - opened_at`` (the first
  acknowledgement of any tier), over acknowledged tickets. **MTTR**: mean time to resolve,
  ``resolved_at - opened_at`` (the latest resolution), over tickets resolved now. Both are
  **wall-clock** seconds, pauses included: what the customer experienced. ``mtta_business_*``
  and ``mttr_business_*``: the same tickets in **business time**, counted like the target's
  clock (first response's calendar to the acknowledgement; the resolution clock to the
  resolution), pauses and resolved-until-reopened time excluded; tickets whose facts predate
  these figures are left out of them. Median and p90 use
  linear interpolation between the closest ranks (numpy's default), so p90 >= median.
* ``first_response_breaches`` / ``resolution_breaches``: tickets whose target breached;
  ``breached_tickets``: tickets with either.
* ``escalations``: escalation steps taken, summed; ``reached_<tier>``: tickets that climbed at
  least to that tier (the ladder is climbed one tier at a time).
* ``reopened``: tickets reopened at least once; ``reopen_rate = reopened / opened`` (every
  ticket with facts was resolved at least once: the share of tickets whose first resolution
  did not hold).
* Objectives beside them: ``availability_objective`` (the availability target, as a fraction,
  of the scope's version in force at the period's end, or now) and
  ``first_response_objective`` / ``resolution_objective``: each measured ticket is held to the
  `service_levels` objective of the agreement version it pinned, for its priority (its own,
  else the one for all priorities; of several windows the strictest); a group's objective is
  the mean over its measured tickets that have one (`report_terms.Terms`), met when
  met/measured >= it, exactly.

Group keys: ``priority``, ``channel``, ``customer`` (a known customer's id when the ticket's
customer is its id or name, case and spacing aside; else the folded spelling), ``agreement``,
``tier`` (the highest tier the ticket reached) and ``week`` (the ISO week of ``opened_at``,
weeks starting Monday 00:00 UTC).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import cache
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from slaflow.report_terms import (
    ObjectiveKey,
    Objectives,
    TargetName,
    Terms,
    exact,
    normal_label,
)
from slaflow.report_terms import objectives_of as objectives_of
from slaflow.tickets import TicketStatus
from slaflow.tiers import TIER_ORDER, Channel, Priority, Tier

WEEK = timedelta(days=7)
TARGETS: tuple[TargetName, ...] = ("first_response", "resolution")


class GroupBy(StrEnum):
    PRIORITY = "priority"
    CHANNEL = "channel"
    CUSTOMER = "customer"
    AGREEMENT = "agreement"
    TIER = "tier"
    WEEK = "week"


class Counting(StrEnum):
    """Which tickets a report counts (each report names its convention).

    ``resolved`` (the default, as before): tickets resolved at least once (resolved or closed
    now, or reopened since). ``completed_or_breached`` (Zendesk's convention): those and every
    open ticket with a breached target, so a breach shows while the ticket is still open.
    In both, a target counts once it is met or breached."""

    RESOLVED = "resolved"
    COMPLETED_OR_BREACHED = "completed_or_breached"


def counted(rows: Iterable[FactRow], counting: Counting) -> list[FactRow]:
    """The rows a report under `counting` counts."""
    if counting is Counting.COMPLETED_OR_BREACHED:
        return list(rows)
    return [r for r in rows if _resolved(r) or r.reopen_count > 0]


class FactRow(BaseModel):
    """The columns of `ticket_facts` that reports read (see `slaflow.tickets.TicketFacts`)."""

    ticket_id: str
    customer: str
    agreement_id: str = "default"
    agreement_version: int | None = Field(None, description="The version the ticket pinned.")
    priority: Priority
    channel: Channel
    status: TicketStatus
    opened_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False
    highest_tier: Tier = Tier.AGENT
    resolved_tier: Tier | None = None
    acknowledged_seconds: float | None = None
    resolution_seconds: float | None = None
    escalations: int = 0
    reopen_count: int = 0
    paused_seconds: float = 0.0
    pauses: int = 0
    repause_gaps_seconds: list[float] = Field(default_factory=list)
    tier_ack_seconds: dict[Tier, float] = Field(default_factory=dict)

    @classmethod
    def trusted(cls, values: dict[str, Any]) -> FactRow:
        """A row from values already of the right types (read from our own typed columns),
        without validation: `model_construct`, minus its per-field loop, for 100,000 rows.
        Fields not given take their defaults, shared between such rows: rows are read-only."""
        row = cls.__new__(cls)
        object.__setattr__(row, "__dict__", {**_defaults(), **values})
        object.__setattr__(row, "__pydantic_fields_set__", set(values))
        object.__setattr__(row, "__pydantic_extra__", None)
        object.__setattr__(row, "__pydantic_private__", None)
        return row


@cache
def _defaults() -> dict[str, Any]:
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in FactRow.model_fields.items()
        if not field.is_required()
    }


# ----- statistics --------------------------------------------------------------------------------


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class Spread(BaseModel):
    mean: float | None
    median: float | None
    p90: float | None


def spread(values: Iterable[float]) -> Spread:
    ordered = sorted(values)
    mean = sum(ordered) / len(ordered) if ordered else None
    return Spread(mean=mean, median=quantile(ordered, 0.5), p90=quantile(ordered, 0.9))


# ----- figures of one group ----------------------------------------------------------------------


class GroupFigures(BaseModel):
    """One group's figures; flat, so a CSV row and a JSON object carry the same fields."""

    group: str = Field(description="The group's key: for customers, the customer's id.")
    group_name: str = Field(description="What the group is called: a customer's name.")
    opened: int
    resolved: int
    closed: int
    first_response_met: int
    first_response_measured: int
    first_response_compliance: float | None
    first_response_objective: float | None
    first_response_meets_objective: bool | None
    resolution_met: int
    resolution_measured: int
    resolution_compliance: float | None
    resolution_objective: float | None
    resolution_meets_objective: bool | None
    mtta_mean_seconds: float | None
    mtta_median_seconds: float | None
    mtta_p90_seconds: float | None
    mttr_mean_seconds: float | None
    mttr_median_seconds: float | None
    mttr_p90_seconds: float | None
    mtta_business_mean_seconds: float | None
    mtta_business_median_seconds: float | None
    mtta_business_p90_seconds: float | None
    mttr_business_mean_seconds: float | None
    mttr_business_median_seconds: float | None
    mttr_business_p90_seconds: float | None
    first_response_breaches: int
    resolution_breaches: int
    breached_tickets: int
    escalations: int
    reached_team_lead: int
    reached_specialist: int
    reached_management: int
    reopened: int
    reopen_rate: float | None
    availability_objective: float | None


def _shown(objective: Fraction | None) -> float | None:
    return None if objective is None else float(objective)


def meets(met: int, measured: int, objective: float | Fraction | None) -> bool | None:
    """Whether met/measured reaches the objective, in exact fractions (19/20 meets 0.95);
    None without an objective or with nothing measured."""
    if objective is None or not measured:
        return None
    return Fraction(met, measured) >= exact(objective)


def _resolved(row: FactRow) -> bool:
    return row.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def target_outcome(row: FactRow, target: TargetName) -> bool | None:
    """True if the ticket met the target, False if it breached it, None if not decided yet."""
    if target == "first_response":
        breached, done = row.first_response_breached, row.first_response_at is not None
    else:
        breached, done = row.resolution_breached, row.resolved_at is not None
    if breached:
        return False
    return True if done else None


def figures(
    group: str,
    rows: Sequence[FactRow],
    objectives: Objectives,
    terms: Terms | None = None,
    name: str | None = None,
) -> GroupFigures:
    """The figures of one group of rows (see the module docstring for each definition). Each
    ticket is held to its own version's objective (`terms`; without them, to `objectives` for
    its priority). One pass over the rows."""
    terms = terms or Terms(fallback=objectives)
    first_weights: Counter[ObjectiveKey] = Counter()
    resolution_weights: Counter[ObjectiveKey] = Counter()
    resolved = closed = reopened = escalations = 0
    first_met = first_measured = resolution_met = resolution_measured = 0
    first_breaches = resolution_breaches = breached = 0
    reached: Counter[Tier] = Counter()
    acks: list[float] = []
    repairs: list[float] = []
    business_acks: list[float] = []
    business_repairs: list[float] = []
    for row in rows:
        opened = row.opened_at
        done = row.status is TicketStatus.RESOLVED or row.status is TicketStatus.CLOSED
        resolved += done
        closed += row.status is TicketStatus.CLOSED
        reopened += row.reopen_count > 0
        escalations += row.escalations
        reached[row.highest_tier] += 1
        key = (row.agreement_id, row.agreement_version, row.priority)
        if row.first_response_breached:
            first_measured += 1
            first_breaches += 1
            first_weights[key] += 1
        elif row.first_response_at is not None:
            first_measured += 1
            first_met += 1
            first_weights[key] += 1
        if row.resolution_breached:
            resolution_measured += 1
            resolution_breaches += 1
            resolution_weights[key] += 1
        elif row.resolved_at is not None:
            resolution_measured += 1
            resolution_met += 1
            resolution_weights[key] += 1
        breached += row.first_response_breached or row.resolution_breached
        if row.acknowledged_at is not None:
            acks.append((row.acknowledged_at - opened).total_seconds())
            if row.acknowledged_seconds is not None:
                business_acks.append(row.acknowledged_seconds)
        if done and row.resolved_at is not None:
            repairs.append((row.resolved_at - opened).total_seconds())
            if row.resolution_seconds is not None:
                business_repairs.append(row.resolution_seconds)
    mtta, mttr = spread(acks), spread(repairs)
    business_mtta, business_mttr = spread(business_acks), spread(business_repairs)
    at_least = {
        tier: sum(reached[t] for t in TIER_ORDER if t.rank >= tier.rank) for tier in TIER_ORDER
    }
    first_objective = terms.mean_objective(first_weights, "first_response")
    resolution_objective = terms.mean_objective(resolution_weights, "resolution")
    return GroupFigures(
        group=group,
        group_name=name or group,
        opened=len(rows),
        resolved=resolved,
        closed=closed,
        first_response_met=first_met,
        first_response_measured=first_measured,
        first_response_compliance=_share(first_met, first_measured),
        first_response_objective=_shown(first_objective),
        first_response_meets_objective=meets(first_met, first_measured, first_objective),
        resolution_met=resolution_met,
        resolution_measured=resolution_measured,
        resolution_compliance=_share(resolution_met, resolution_measured),
        resolution_objective=_shown(resolution_objective),
        resolution_meets_objective=meets(resolution_met, resolution_measured, resolution_objective),
        mtta_mean_seconds=mtta.mean,
        mtta_median_seconds=mtta.median,
        mtta_p90_seconds=mtta.p90,
        mttr_mean_seconds=mttr.mean,
        mttr_median_seconds=mttr.median,
        mttr_p90_seconds=mttr.p90,
        mtta_business_mean_seconds=business_mtta.mean,
        mtta_business_median_seconds=business_mtta.median,
        mtta_business_p90_seconds=business_mtta.p90,
        mttr_business_mean_seconds=business_mttr.mean,
        mttr_business_median_seconds=business_mttr.median,
        mttr_business_p90_seconds=business_mttr.p90,
        first_response_breaches=first_breaches,
        resolution_breaches=resolution_breaches,
        breached_tickets=breached,
        escalations=escalations,
        reached_team_lead=at_least[Tier.TEAM_LEAD],
        reached_specialist=at_least[Tier.SPECIALIST],
        reached_management=at_least[Tier.MANAGEMENT],
        reopened=reopened,
        reopen_rate=_share(reopened, len(rows)),
        availability_objective=objectives.availability,
    )


# ----- grouping ----------------------------------------------------------------------------------


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding `moment`."""
    utc = moment.astimezone(UTC)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=utc.weekday())


def week_label(moment: datetime) -> str:
    """The ISO week of `moment` in UTC, e.g. '2026-W48'."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def group_key(row: FactRow, group_by: GroupBy, terms: Terms | None = None) -> str:
    if group_by is GroupBy.PRIORITY:
        return row.priority.value
    if group_by is GroupBy.CHANNEL:
        return row.channel.value
    if group_by is GroupBy.CUSTOMER:
        return terms.customer_key(row.customer) if terms else normal_label(row.customer)
    if group_by is GroupBy.AGREEMENT:
        return row.agreement_id
    if group_by is GroupBy.TIER:
        return row.highest_tier.value
    return week_label(row.opened_at)


def _order(group_by: GroupBy) -> Callable[[str], tuple[int, str]]:
    """Priorities and channels in their enum order, tiers up the ladder, the rest by name."""
    ranked: list[str] = {
        GroupBy.PRIORITY: [p.value for p in Priority],
        GroupBy.CHANNEL: [c.value for c in Channel],
        GroupBy.TIER: [t.value for t in TIER_ORDER],
    }.get(group_by, [])

    def key(name: str) -> tuple[int, str]:
        return (ranked.index(name) if name in ranked else len(ranked), name.casefold())

    return key


def in_period(rows: Iterable[FactRow], start: datetime, end: datetime) -> list[FactRow]:
    """Rows opened in [start, end)."""
    return [r for r in rows if start <= r.opened_at < end]


def grouped(
    rows: Iterable[FactRow], group_by: GroupBy, terms: Terms | None = None
) -> dict[str, list[FactRow]]:
    """Rows per group, groups in report order; only groups that have rows."""
    groups: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        groups[group_key(row, group_by, terms)].append(row)
    return {name: groups[name] for name in sorted(groups, key=_order(group_by))}


def group_name(
    group_by: GroupBy | None, key: str, terms: Terms | None, members: Sequence[FactRow]
) -> str:
    """A customer group's name: the known customer's, else its members' most common spelling
    (the first in order on a tie); any other group's key."""
    if group_by is not GroupBy.CUSTOMER:
        return key
    known = terms.customers.get(key) if terms else None
    if known is not None or not members:
        return known or key
    spellings = Counter(r.customer for r in members)
    return min(spellings, key=lambda spelling: (-spellings[spelling], spelling))


def group_figures(
    rows: Sequence[FactRow], group_by: GroupBy, objectives: Objectives, terms: Terms | None = None
) -> list[GroupFigures]:
    return [
        figures(name, members, objectives, terms, group_name(group_by, name, terms, members))
        for name, members in grouped(rows, group_by, terms).items()
    ]


# ----- the SLA report ----------------------------------------------------------------------------


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: AwareDatetime = Field(alias="from", description="Inclusive, by opened_at.")
    end: AwareDatetime = Field(alias="to", description="Exclusive, by opened_at.")
    counting: Counting = Field(
        Counting.RESOLVED, description="Which tickets count: see `Counting`."
    )


class SlaReport(Period):
    group_by: GroupBy
    agreement_version: int | None = Field(
        description="The scope's version in force at the period's end: its availability "
        "objective is shown. Compliance objectives are each ticket's own version's."
    )
    availability_objective: float | None
    totals: GroupFigures = Field(description="Every ticket of the period (group 'all').")
    groups: list[GroupFigures]


def sla_report(
    rows: Iterable[FactRow],
    *,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    objectives: Objectives,
    counting: Counting = Counting.RESOLVED,
    terms: Terms | None = None,
) -> SlaReport:
    """Figures per group for tickets opened in [start, end), and for all of them."""
    chosen = counted(in_period(rows, start, end), counting)
    return SlaReport(
        start=start,
        end=end,
        counting=counting,
        group_by=group_by,
        agreement_version=objectives.agreement_version,
        availability_objective=objectives.availability,
        totals=figures("all", chosen, objectives, terms),
        groups=group_figures(chosen, group_by, objectives, terms),
    )


# ----- trends ------------------------------------------------------------------------------------


class FigureChange(BaseModel):
    """This week minus the week before (None where either side has no value). Compliance and
    rates change in fractions (0.05 = five percentage points), times in seconds."""

    opened: int
    closed: int
    first_response_compliance: float | None
    resolution_compliance: float | None
    mtta_mean_seconds: float | None
    mtta_median_seconds: float | None
    mttr_mean_seconds: float | None
    mttr_median_seconds: float | None
    breached_tickets: int
    reopen_rate: float | None


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _rate_change(now: tuple[int, int], before: tuple[int, int]) -> float | None:
    """now - before of two (met, measured) rates, exact before it is shown: 17/20 - 18/20 is
    -0.05, not -0.050000000000000044."""
    if not now[1] or not before[1]:
        return None
    return float(Fraction(*now) - Fraction(*before))


def change(now: GroupFigures, before: GroupFigures) -> FigureChange:
    return FigureChange(
        opened=now.opened - before.opened,
        closed=now.closed - before.closed,
        first_response_compliance=_rate_change(
            (now.first_response_met, now.first_response_measured),
            (before.first_response_met, before.first_response_measured),
        ),
        resolution_compliance=_rate_change(
            (now.resolution_met, now.resolution_measured),
            (before.resolution_met, before.resolution_measured),
        ),
        mtta_mean_seconds=_delta(now.mtta_mean_seconds, before.mtta_mean_seconds),
        mtta_median_seconds=_delta(now.mtta_median_seconds, before.mtta_median_seconds),
        mttr_mean_seconds=_delta(now.mttr_mean_seconds, before.mttr_mean_seconds),
        mttr_median_seconds=_delta(now.mttr_median_seconds, before.mttr_median_seconds),
        breached_tickets=now.breached_tickets - before.breached_tickets,
        reopen_rate=_delta(now.reopen_rate, before.reopen_rate),
    )


class TrendPoint(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W48.")
    week_start: AwareDatetime = Field(description="Monday 00:00 UTC.")
    figures: GroupFigures
    change: FigureChange = Field(description="Against the week before.")


class TrendSeries(BaseModel):
    """One group's weeks; a group with no ticket in the reported weeks has no series."""

    group: str = Field(description="The group, or 'all' without group_by.")
    group_name: str = Field(description="What the group is called: a customer's name.")
    points: list[TrendPoint]


class TrendsReport(Period):
    group_by: GroupBy | None
    weeks: list[str]
    series: list[TrendSeries]


def trend_weeks(start: datetime, end: datetime) -> list[datetime]:
    """Monday 00:00 UTC of every ISO week that overlaps [start, end)."""
    weeks = []
    monday = week_start(start)
    while monday < end:
        weeks.append(monday)
        monday += WEEK
    return weeks


def trends_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The rows `trends` needs: whole weeks overlapping [start, end), and the week before."""
    weeks = trend_weeks(start, end)
    if not weeks:
        return start, start
    return weeks[0] - WEEK, weeks[-1] + WEEK


def trends(
    rows: Iterable[FactRow],
    *,
    start: datetime,
    end: datetime,
    group_by: GroupBy | None,
    objectives: Objectives,
    counting: Counting = Counting.RESOLVED,
    terms: Terms | None = None,
) -> TrendsReport:
    """The SLA figures per whole ISO week overlapping [start, end) (tickets opened in that
    week), each with its change against the week before; per group when `group_by` is given
    (not `week`). Rows should cover `trends_window(start, end)`."""
    if group_by is GroupBy.WEEK:
        raise ValueError("group_by: trends are per week already; choose another grouping")
    weeks = trend_weeks(start, end)
    first, last = trends_window(start, end)
    chosen = counted(in_period(rows, first, last), counting)
    by_group: dict[str, list[FactRow]] = (
        grouped(chosen, group_by, terms) if group_by is not None else {"all": chosen}
    )
    series = []
    for name, members in by_group.items():
        per_week: dict[datetime, list[FactRow]] = defaultdict(list)
        for row in members:
            per_week[week_start(row.opened_at)].append(row)
        if group_by is not None and not any(per_week.get(monday) for monday in weeks):
            continue  # only the week before has its tickets: nothing to show in the period
        label = group_name(group_by, name, terms, members)
        points = []
        before = figures(name, per_week.get(first, []), objectives, terms, label)
        for monday in weeks:
            now = figures(name, per_week.get(monday, []), objectives, terms, label)
            points.append(
                TrendPoint(
                    week=week_label(monday),
                    week_start=monday,
                    figures=now,
                    change=change(now, before),
                )
            )
            before = now
        series.append(TrendSeries(group=name, group_name=label, points=points))
    return TrendsReport(
        start=start,
        end=end,
        counting=counting,
        group_by=group_by,
        weeks=[week_label(w) for w in weeks],
        series=series,
    )


# ----- deviations --------------------------------------------------------------------------------


DeviationReason = Literal["below_objective", "dropped"]


class Deviation(BaseModel):
    """A group whose compliance with one target fell below its objective, or dropped by more
    than the threshold against the previous period of the same length."""

    group: str
    group_name: str = Field(description="What the group is called: a customer's name.")
    target: TargetName
    reasons: list[DeviationReason]
    compliance: float
    objective: float | None
    previous_compliance: float | None
    change: float | None = Field(description="compliance - previous_compliance.")
    met: int
    measured: int
    ticket_ids: list[str] = Field(description="The tickets that breached the target.")


class DeviationsReport(Period):
    group_by: GroupBy
    previous_from: AwareDatetime = Field(description="The comparison period's start.")
    previous_to: AwareDatetime = Field(description="Its end (excluded): this period's `from`.")
    drop_threshold: float = Field(description="A drop larger than this (a fraction) deviates.")
    agreement_version: int | None
    deviations: list[Deviation]


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before [start, end)."""
    return start - (end - start), start


def deviation_verdict(
    now: tuple[int, int],
    before: tuple[int, int],
    objective: float | Fraction | None,
    drop_threshold: float,
) -> tuple[list[DeviationReason], Fraction] | None:
    """Reasons and severity for (met, measured) now against (met, measured) before, in exact
    fractions: `below_objective` when met/measured < objective, `dropped` when the compliance
    fell by strictly more than `drop_threshold`. None when neither holds (or nothing measured)."""
    if not now[1]:
        return None
    compliance = Fraction(now[0], now[1])
    reasons: list[DeviationReason] = []
    shortfall = drop = Fraction(0)
    if objective is not None and compliance < exact(objective):
        reasons.append("below_objective")
        shortfall = exact(objective) - compliance
    if before[1]:
        drop = Fraction(before[0], before[1]) - compliance
        if drop > exact(drop_threshold):
            reasons.append("dropped")
    if not reasons:
        return None
    return reasons, max(shortfall, drop, Fraction(0))


def deviations(
    rows: Iterable[FactRow],
    *,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    objectives: Objectives,
    drop_threshold: float,
    counting: Counting = Counting.RESOLVED,
    terms: Terms | None = None,
) -> DeviationsReport:
    """Per group and target: `below_objective` when compliance < its objective, `dropped`
    when it fell by more than `drop_threshold` against `previous_period`. Worst first: by the
    larger of the shortfall against the objective and the drop. Rows should cover both periods."""
    everything = counted(rows, counting)
    prev_start, prev_end = previous_period(start, end)
    terms = terms or Terms(fallback=objectives)
    current = grouped(in_period(everything, start, end), group_by, terms)
    previous = grouped(in_period(everything, prev_start, prev_end), group_by, terms)
    found: list[tuple[Fraction, Deviation]] = []
    for name, members in current.items():
        for target in TARGETS:
            outcomes = [(r, target_outcome(r, target)) for r in members]
            measured = [(r.ticket_id, o) for r, o in outcomes if o is not None]
            if not measured:
                continue
            met = sum(o is True for _, o in measured)
            objective = terms.mean_objective(
                Counter(
                    (r.agreement_id, r.agreement_version, r.priority)
                    for r, o in outcomes
                    if o is not None
                ),
                target,
            )
            before = [target_outcome(r, target) for r in previous.get(name, [])]
            before_measured = [o for o in before if o is not None]
            before_met = sum(o is True for o in before_measured)
            verdict = deviation_verdict(
                (met, len(measured)),
                (before_met, len(before_measured)),
                objective,
                drop_threshold,
            )
            if verdict is None:
                continue
            reasons, severity = verdict
            compliance = met / len(measured)
            previous_compliance = _share(before_met, len(before_measured))
            delta = (
                float(Fraction(met, len(measured)) - Fraction(before_met, len(before_measured)))
                if before_measured
                else None
            )
            found.append(
                (
                    severity,
                    Deviation(
                        group=name,
                        group_name=group_name(group_by, name, terms, members),
                        target=target,
                        reasons=reasons,
                        compliance=compliance,
                        objective=None if objective is None else float(objective),
                        previous_compliance=previous_compliance,
                        change=delta,
                        met=met,
                        measured=len(measured),
                        ticket_ids=sorted(t for t, o in measured if o is False),
                    ),
                )
            )
    found.sort(key=lambda item: (-item[0], item[1].group, item[1].target))
    return DeviationsReport(
        start=start,
        end=end,
        counting=counting,
        group_by=group_by,
        previous_from=prev_start,
        previous_to=prev_end,
        drop_threshold=drop_threshold,
        agreement_version=objectives.agreement_version,
        deviations=[d for _, d in found],
    )


# ----- escalation analysis -----------------------------------------------------------------------


class TierFigures(BaseModel):
    """How one tier did: tickets that reached it, it resolved, and how fast it acknowledged
    (wall-clock, from the tier's first page to its first acknowledgement)."""

    tier: Tier
    reached: int
    resolved: int
    acknowledged: int
    ack_mean_seconds: float | None
    ack_median_seconds: float | None
    ack_p90_seconds: float | None


class EscalatedGroup(BaseModel):
    name: str
    tickets: int
    escalated_tickets: int = Field(description="Tickets that left the agent tier.")
    escalations: int = Field(description="Escalation steps, summed.")
    escalated_share: float
    reached_management: int


class EscalationReport(Period):
    tickets: int
    escalated_tickets: int
    resolved_tier_unknown: int = Field(
        description="Resolved tickets whose facts predate the resolving tier being recorded."
    )
    tiers: list[TierFigures]
    customers: list[EscalatedGroup] = Field(description="Most escalated first.")
    channels: list[EscalatedGroup] = Field(description="Most escalated first.")


def _escalated_groups(
    rows: Sequence[FactRow],
    key: Callable[[FactRow], str],
    top: int,
    label: Callable[[str, list[FactRow]], str] = lambda name, _: name,
) -> list[EscalatedGroup]:
    groups: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    found = []
    for name, members in groups.items():
        escalated = sum(r.highest_tier is not Tier.AGENT for r in members)
        if escalated:
            found.append(
                EscalatedGroup(
                    name=label(name, members),
                    tickets=len(members),
                    escalated_tickets=escalated,
                    escalations=sum(r.escalations for r in members),
                    escalated_share=escalated / len(members),
                    reached_management=sum(r.highest_tier is Tier.MANAGEMENT for r in members),
                )
            )
    found.sort(key=lambda g: (-g.escalated_tickets, -g.escalations, g.name.casefold()))
    return found[:top]


def escalation_analysis(
    rows: Iterable[FactRow],
    *,
    start: datetime,
    end: datetime,
    top: int = 10,
    terms: Terms | None = None,
) -> EscalationReport:
    """Learn from escalations: per tier, tickets reached and resolved and the time it took to
    acknowledge; the `top` most escalated customers and channels (by tickets that left the
    agent tier, then by escalation steps). Counts resolved tickets (`Counting.RESOLVED`)."""
    chosen = counted(in_period(rows, start, end), Counting.RESOLVED)
    tiers = []
    for tier in TIER_ORDER:
        acks = [r.tier_ack_seconds[tier] for r in chosen if tier in r.tier_ack_seconds]
        ack = spread(acks)
        tiers.append(
            TierFigures(
                tier=tier,
                reached=sum(r.highest_tier.rank >= tier.rank for r in chosen),
                resolved=sum(_resolved(r) and r.resolved_tier is tier for r in chosen),
                acknowledged=len(acks),
                ack_mean_seconds=ack.mean,
                ack_median_seconds=ack.median,
                ack_p90_seconds=ack.p90,
            )
        )
    return EscalationReport(
        start=start,
        end=end,
        tickets=len(chosen),
        escalated_tickets=sum(r.highest_tier is not Tier.AGENT for r in chosen),
        resolved_tier_unknown=sum(_resolved(r) and r.resolved_tier is None for r in chosen),
        tiers=tiers,
        customers=_escalated_groups(
            chosen,
            lambda r: group_key(r, GroupBy.CUSTOMER, terms),
            top,
            lambda name, members: group_name(GroupBy.CUSTOMER, name, terms, members),
        ),
        channels=_escalated_groups(chosen, lambda r: r.channel.value, top),
    )


# ----- pause audit -------------------------------------------------------------------------------


PauseFlag = Literal["quick_repause", "long_pause"]


class PausedTicket(BaseModel):
    ticket_id: str
    customer: str
    agreement_id: str = "default"
    priority: Priority
    channel: Channel
    opened_at: AwareDatetime
    resolved_at: AwareDatetime | None
    pauses: int
    paused_seconds: float
    life_seconds: float | None = Field(description="opened_at to resolved_at, wall-clock.")
    paused_share: float | None = Field(description="paused_seconds / life_seconds.")
    quick_repauses: int = Field(description="Pauses that began soon after a resume.")
    flags: list[PauseFlag]


class PauseAudit(Period):
    quick_repause_seconds: float
    max_paused_share: float
    tickets: int
    paused_tickets: int
    flagged: list[PausedTicket] = Field(description="Most quick re-pauses first, then share.")


def life_seconds(row: FactRow) -> float | None:
    """Wall-clock seconds from opening to the latest resolution (or the close)."""
    end = row.resolved_at or row.closed_at
    return None if end is None else (end - row.opened_at).total_seconds()


def pause_audit(
    rows: Iterable[FactRow],
    *,
    start: datetime,
    end: datetime,
    quick_repause_seconds: float,
    max_paused_share: float = 0.5,
) -> PauseAudit:
    """Pauses can hide breaches, so list the tickets that look like it: `quick_repause` when a
    pause began within `quick_repause_seconds` of a resume (a resume is what a customer's
    reply triggers), `long_pause` when the ticket waited (wall-clock, on the customer or a
    third party) for more than `max_paused_share` of its life. Counts resolved tickets."""
    chosen = counted(in_period(rows, start, end), Counting.RESOLVED)
    flagged = []
    for row in chosen:
        if row.pauses == 0:
            continue
        quick = sum(gap <= quick_repause_seconds for gap in row.repause_gaps_seconds)
        life = life_seconds(row)
        share = row.paused_seconds / life if life else None
        flags: list[PauseFlag] = []
        if quick:
            flags.append("quick_repause")
        if share is not None and share > max_paused_share:
            flags.append("long_pause")
        if flags:
            flagged.append(
                PausedTicket(
                    ticket_id=row.ticket_id,
                    customer=row.customer,
                    priority=row.priority,
                    channel=row.channel,
                    opened_at=row.opened_at,
                    resolved_at=row.resolved_at,
                    pauses=row.pauses,
                    paused_seconds=row.paused_seconds,
                    life_seconds=life,
                    paused_share=share,
                    quick_repauses=quick,
                    flags=flags,
                )
            )
    flagged.sort(key=lambda t: (-t.quick_repauses, -(t.paused_share or 0.0), t.ticket_id))
    return PauseAudit(
        start=start,
        end=end,
        quick_repause_seconds=quick_repause_seconds,
        max_paused_share=max_paused_share,
        tickets=len(chosen),
        paused_tickets=sum(r.pauses > 0 for r in chosen),
        flagged=flagged,
    )
