"""Service credits: rules in the agreement, a month worked by hand, the consequence on breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from slaflow import ticket_machine as machine
from slaflow.agreement import Agreement
from slaflow.credits import CreditTicket, statement
from slaflow.tickets import EventKind
from slaflow.tiers import Priority
from tests.factories import T0, agreement_doc, make_terms, make_ticket

NOV, DEC = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
RULES = [
    {"target": "resolution", "priority": "P1", "credit_percent": 5, "cap_percent": 20},
    {"target": "first_response", "priority": "P2", "credit_percent": 2, "cap_percent": 5},
    {"target": "first_response", "credit_percent": 0.5, "cap_percent": 10},
]


def agreement(**overrides: object) -> Agreement:
    doc = agreement_doc(**{"credits": RULES, "monthly_fee": 12000, "currency": "EUR", **overrides})
    return Agreement.model_validate(doc)


def ticket(n: int, priority: str, day: int, *, fr: bool = False, res: bool = False) -> CreditTicket:
    return CreditTicket(
        ticket_id=f"T-{n}",
        priority=Priority(priority),
        opened_at=NOV + timedelta(days=day - 1, hours=9),
        first_response_breached=fr,
        resolution_breached=res,
    )


def test_a_month_worked_by_hand() -> None:
    tickets = [
        *(ticket(i, "P1", i, res=True) for i in range(1, 6)),  # 5 missed P1 resolutions
        ticket(6, "P1", 6, fr=True, res=True),  # a 6th, and a missed first response
        *(ticket(i, "P2", i, fr=True) for i in range(7, 10)),  # 3 missed P2 first responses
        ticket(10, "P3", 10, res=True),  # no rule for a P3 resolution
        ticket(11, "P4", 11),  # met everything
        CreditTicket(  # opened in December: another month
            ticket_id="T-12",
            priority=Priority.P1,
            opened_at=DEC,
            first_response_breached=True,
            resolution_breached=True,
        ),
    ]
    s = statement(
        agreement(),
        agreement_id="acme-gold",
        agreement_version=3,
        customer="acme",
        period_start=NOV,
        period_end=DEC,
        tickets=tickets,
    )
    p1, p2, every = s.rules
    # P1 resolutions: 6 x 5 % = 30 %, capped at 20 %
    assert (p1.misses, p1.earned_percent, p1.owed_percent, p1.capped) == (6, 30, 20, True)
    # P2 first responses: 3 x 2 % = 6 %, capped at 5 %
    assert (p2.misses, p2.earned_percent, p2.owed_percent, p2.capped) == (3, 6, 5, True)
    # any first response: T-6 and T-7..9 = 4 x 0.5 % = 2 %, under its 10 % cap
    assert (every.misses, every.earned_percent, every.owed_percent) == (4, 2, 2)
    assert every.capped is False
    # 20 + 5 + 2 = 27 % of 12,000 = 3,240
    assert (s.owed_percent, s.owed_amount, s.currency) == (27, 3240, "EUR")
    assert [line.ticket_id for line in s.lines if line.target == "resolution"] == [
        f"T-{i}" for i in range(1, 7)
    ]
    assert "T-12" not in {line.ticket_id for line in s.lines}
    assert p1.rule == "5 % service credit per missed P1 resolution, at most 20 % a month"


def test_without_a_fee_the_statement_is_in_percent() -> None:
    s = statement(
        agreement(monthly_fee=None),
        agreement_id="default",
        agreement_version=1,
        customer="ACME",
        period_start=NOV,
        period_end=DEC,
        tickets=[ticket(1, "P1", 2, res=True)],
    )
    assert (s.owed_percent, s.owed_amount) == (5, None)


@pytest.mark.parametrize(
    "rule",
    [
        {"target": "resolution", "credit_percent": 5},
        {"target": "resolution", "credit_percent": 5, "cap_percent": None},
    ],
)
def test_a_rule_without_a_cap_is_refused_naming_the_field(rule: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as refused:
        Agreement.model_validate(agreement_doc(credits=[rule]))
    error = refused.value.errors()[0]
    assert error["loc"][:2] == ("credits", 0) and "cap_percent is required" in error["msg"]


@pytest.mark.parametrize(
    "rule",
    [
        {"target": "resolution", "credit_percent": 0, "cap_percent": 5},
        {"target": "resolution", "credit_percent": 5, "cap_percent": 101},
        {"target": "uptime", "credit_percent": 5, "cap_percent": 5},
    ],
)
def test_nonsense_rules_are_refused(rule: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Agreement.model_validate(agreement_doc(credits=[rule]))


def test_every_breach_notice_says_what_it_costs() -> None:
    doc = agreement_doc(credits=RULES)
    doc["objectives"]["P1"]["consequence"] = "service credit per the schedule"
    terms = make_terms(Agreement.model_validate(doc))
    rt, _ = machine.open_ticket(make_ticket(priority="P1"), terms, T0, T0)
    notices = []
    now = T0
    while (due := machine.next_due(rt, now)) is not None and due.at <= T0 + timedelta(hours=2):
        now = max(now, due.at)
        notices += machine.apply_due(rt, due, now)
    breaches = [e.detail for e in rt.events if e.kind is EventKind.BREACH]
    assert breaches[0].endswith(
        "; consequence: service credit per the schedule; 0.5 % service credit per missed "
        "first response, at most 10 % a month"
    )
    assert breaches[1].endswith(
        "; consequence: service credit per the schedule; 5 % service credit per missed P1 "
        "resolution, at most 20 % a month"
    )
    assert any("consequence: " in n.reason for n in notices)
