"""Service credits a month's missed targets cost, ticket by ticket: pure arithmetic.

Decisions, and why:

- **A ticket counts in the month it was opened in**, as in the service-level windows and the
  reports: every ticket belongs to exactly one month from intake on.
- **Each rule is capped on its own**: its misses times its percentage, at most its cap. The
  statement shows what each miss earned and where the cap cut it, so nobody has to redo it.
- **Money only with a fee**: without `monthly_fee` the statement is in percent alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction

from pydantic import AwareDatetime, BaseModel, Field

from slaflow.agreement import Agreement, CreditRule, TargetName
from slaflow.tiers import Priority


class CreditTicket(BaseModel):
    """What a credit needs of one ticket."""

    ticket_id: str
    priority: Priority
    opened_at: AwareDatetime
    first_response_breached: bool
    resolution_breached: bool

    def missed(self, target: TargetName) -> bool:
        return (
            self.first_response_breached
            if target == "first_response"
            else (self.resolution_breached)
        )


class CreditLine(BaseModel):
    """One missed target and the credit it earned under one rule."""

    ticket_id: str
    priority: Priority
    opened_at: datetime
    target: TargetName
    rule: str
    credit_percent: float


class RuleTotal(BaseModel):
    rule: str
    misses: int
    earned_percent: float = Field(description="Misses times the rule's percentage.")
    cap_percent: float
    owed_percent: float = Field(description="Earned, at most the cap.")
    capped: bool


class CreditStatement(BaseModel):
    """What one agreement's month of missed targets costs the provider."""

    agreement_id: str
    agreement_version: int
    customer: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    monthly_fee: float | None
    currency: str
    lines: list[CreditLine]
    rules: list[RuleTotal]
    owed_percent: float
    owed_amount: float | None = Field(description="Owed percent of the monthly fee, if set.")


def _exact(value: float) -> Fraction:
    return Fraction(str(value))


def _rule_total(rule: CreditRule, misses: int) -> RuleTotal:
    earned = _exact(rule.credit_percent) * misses
    owed = min(earned, _exact(rule.cap_percent))
    return RuleTotal(
        rule=rule.describe(),
        misses=misses,
        earned_percent=float(earned),
        cap_percent=rule.cap_percent,
        owed_percent=float(owed),
        capped=earned > owed,
    )


def statement(
    agreement: Agreement,
    *,
    agreement_id: str,
    agreement_version: int,
    customer: str,
    period_start: datetime,
    period_end: datetime,
    tickets: Iterable[CreditTicket],
) -> CreditStatement:
    """Every rule applied to the tickets opened in [period_start, period_end)."""
    month = sorted(
        (t for t in tickets if period_start <= t.opened_at < period_end),
        key=lambda t: (t.opened_at, t.ticket_id),
    )
    lines: list[CreditLine] = []
    totals: list[RuleTotal] = []
    owed = Fraction(0)
    for rule in agreement.credits:
        hits = [t for t in month if rule.applies(t.priority) and t.missed(rule.target)]
        lines += [
            CreditLine(
                ticket_id=t.ticket_id,
                priority=t.priority,
                opened_at=t.opened_at,
                target=rule.target,
                rule=rule.describe(),
                credit_percent=rule.credit_percent,
            )
            for t in hits
        ]
        total = _rule_total(rule, len(hits))
        totals.append(total)
        owed += _exact(total.owed_percent)
    fee = agreement.monthly_fee
    return CreditStatement(
        agreement_id=agreement_id,
        agreement_version=agreement_version,
        customer=customer,
        period_start=period_start,
        period_end=period_end,
        monthly_fee=fee,
        currency=agreement.currency,
        lines=lines,
        rules=totals,
        owed_percent=float(owed),
        owed_amount=None if fee is None else round(float(_exact(fee) * owed / 100), 2),
    )


def breach_consequence(agreement: Agreement, priority: Priority, target: str) -> str:
    """What a miss of `target` at `priority` costs, in words: the objective's own consequence
    and every credit rule that applies; empty when nothing is said."""
    said = [agreement.objective(priority).consequence.strip()]
    said += [r.describe() for r in agreement.credits if r.target == target and r.applies(priority)]
    return "; ".join(s for s in said if s)
