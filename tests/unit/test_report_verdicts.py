"""Figures a manager can trust: which tickets count, and verdicts decided in exact fractions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from slaflow import reports
from slaflow.reports import Counting, FactRow, GroupBy, Objectives
from slaflow.tickets import TicketStatus
from slaflow.tiers import Channel, Priority

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
END = START + timedelta(days=7)
PREVIOUS = START - timedelta(days=7)
M = timedelta(minutes=1)


def ticket(
    ticket_id: str, opened: datetime, *, breached: bool = False, **values: object
) -> FactRow:
    data: dict[str, object] = {
        "ticket_id": ticket_id,
        "customer": "ACME",
        "priority": Priority.P1,
        "channel": Channel.EMAIL,
        "status": TicketStatus.CLOSED,
        "opened_at": opened,
        "acknowledged_at": opened + 5 * M,
        "first_response_at": opened + 5 * M,
        "resolved_at": opened + 60 * M,
        "first_response_breached": breached,
        "resolution_breached": breached,
    }
    data.update(values)
    return FactRow.model_validate(data)


def twenty(prefix: str, opened: datetime, breaches: int) -> list[FactRow]:
    return [ticket(f"{prefix}{i:02d}", opened + i * M, breached=i < breaches) for i in range(20)]


def test_a_drop_exactly_at_the_threshold_is_not_a_deviation() -> None:
    # 18/20 the week before, 17/20 now: a drop of 1/20, exactly the 5 % threshold.
    # In floats 17/20 - 18/20 is -0.050000000000000044, which used to count as "dropped".
    rows = twenty("B", PREVIOUS, 2) + twenty("N", START, 3)
    report = reports.deviations(
        rows,
        start=START,
        end=END,
        group_by=GroupBy.PRIORITY,
        objectives=Objectives(),
        drop_threshold=0.05,
    )
    assert report.deviations == []
    # one more breach (16/20, a drop of 2/20) is more than the threshold
    rows = twenty("B", PREVIOUS, 2) + twenty("N", START, 4)
    report = reports.deviations(
        rows,
        start=START,
        end=END,
        group_by=GroupBy.PRIORITY,
        objectives=Objectives(),
        drop_threshold=0.05,
    )
    assert [(d.target, d.reasons, d.change) for d in report.deviations] == [
        ("first_response", ["dropped"], -0.1),
        ("resolution", ["dropped"], -0.1),
    ]


def test_compliance_exactly_at_the_objective_meets_it() -> None:
    # 19/20 against 95 %: met; 0.95 is not 19/20 in binary, the verdict must not care
    objectives = Objectives(compliance={"P1:first_response": 0.95})
    assert reports.deviation_verdict((19, 20), (0, 0), 0.95, 0.05) is None
    assert reports.deviation_verdict((18, 20), (0, 0), 0.95, 0.05) == (
        ["below_objective"],
        Fraction(1, 20),
    )
    report = reports.deviations(
        twenty("N", START, 1),
        start=START,
        end=END,
        group_by=GroupBy.PRIORITY,
        objectives=objectives,
        drop_threshold=0.05,
    )
    assert report.deviations == []


counts = st.integers(0, 60)


@given(met=counts, extra=counts, before_met=counts, before_extra=counts, threshold=counts)
def test_verdicts_follow_exact_arithmetic(
    met: int, extra: int, before_met: int, before_extra: int, threshold: int
) -> None:
    """Objective and threshold as whole percents: the rule in integers, no fractions at all."""
    measured, before_measured = met + extra, before_met + before_extra
    verdict = reports.deviation_verdict(
        (met, measured), (before_met, before_measured), threshold / 100, threshold / 100
    )
    if measured == 0:
        assert verdict is None
        return
    below = 100 * met < threshold * measured
    dropped = before_measured > 0 and 100 * (
        before_met * measured - met * before_measured
    ) > threshold * (measured * before_measured)
    expected = [r for r, on in (("below_objective", below), ("dropped", dropped)) if on]
    assert (verdict[0] if verdict else []) == expected


def test_an_open_breached_ticket_counts_under_the_zendesk_convention_only() -> None:
    rows = [
        ticket("T1", START),  # met both, closed
        ticket(  # open, its first response breached, nothing resolved yet
            "T2",
            START + M,
            status=TicketStatus.ACKNOWLEDGED,
            first_response_at=None,
            resolved_at=None,
            first_response_breached=True,
            resolution_breached=False,
        ),
    ]
    kwargs = {"start": START, "end": END, "group_by": GroupBy.PRIORITY, "objectives": Objectives()}
    resolved = reports.sla_report(rows, **kwargs)  # type: ignore[arg-type]
    assert resolved.counting is Counting.RESOLVED
    assert resolved.totals.opened == 1 and resolved.totals.first_response_compliance == 1.0
    zendesk = reports.sla_report(rows, counting=Counting.COMPLETED_OR_BREACHED, **kwargs)  # type: ignore[arg-type]
    totals = zendesk.totals
    assert zendesk.counting is Counting.COMPLETED_OR_BREACHED
    assert (totals.opened, totals.resolved) == (2, 1)
    # first response: T1 met, T2 breached (open): 1/2; resolution: T2 undecided, only T1 counts
    assert (totals.first_response_met, totals.first_response_measured) == (1, 2)
    assert (totals.resolution_met, totals.resolution_measured) == (1, 1)
    assert totals.breached_tickets == 1
    assert zendesk.model_dump(mode="json", by_alias=True)["counting"] == "completed_or_breached"


def test_a_reopened_ticket_counts_as_reopened_and_not_resolved() -> None:
    # T2 was resolved after 60m, then reopened; its facts were rewritten at the reopen.
    rows = [
        ticket("T1", START),
        ticket("T2", START + M, status=TicketStatus.ACKNOWLEDGED, resolved_at=None, reopen_count=1),
    ]
    for counting in Counting:
        totals = reports.sla_report(
            rows,
            start=START,
            end=END,
            group_by=GroupBy.PRIORITY,
            objectives=Objectives(),
            counting=counting,
        ).totals
        assert (totals.opened, totals.resolved, totals.reopened) == (2, 1, 1)
        # its resolution is open again: not measured; MTTR is T1's alone
        assert (totals.resolution_met, totals.resolution_measured) == (1, 1)
        assert totals.mttr_mean_seconds == 3600


@given(met=counts, extra=counts, percent=st.integers(0, 100))
def test_meets_the_objective_in_integers(met: int, extra: int, percent: int) -> None:
    measured = met + extra
    verdict = reports.meets(met, measured, percent / 100)
    assert verdict == (None if measured == 0 else 100 * met >= percent * measured)


def test_the_figures_carry_the_exact_verdict() -> None:
    objectives = Objectives(compliance={"P1:first_response": 0.95, "P1:resolution": 0.96})
    (p1,) = reports.group_figures(twenty("N", START, 1), GroupBy.PRIORITY, objectives)
    assert (p1.first_response_met, p1.first_response_measured) == (19, 20)
    assert p1.first_response_meets_objective is True
    assert p1.resolution_meets_objective is False


def test_a_weekly_change_is_shown_exactly() -> None:
    rows = twenty("B", PREVIOUS, 2) + twenty("N", START, 3)
    report = reports.trends(rows, start=START, end=END, group_by=None, objectives=Objectives())
    (point,) = report.series[0].points
    assert point.change.first_response_compliance == -0.05
    assert point.change.resolution_compliance == -0.05
