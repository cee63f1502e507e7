"""Whose terms a report holds each ticket to, and who a customer group is.

A ticket is measured against the objectives of the agreement version it pinned, never the
version in force when the report runs; a group's objective is the mean of its measured
tickets' own objectives, so a verdict weighs each ticket by its terms. Customer groups go by
identity: a spelling of a known customer's id or name is that customer.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from slaflow.agreement import Agreement
from slaflow.tiers import Priority

TargetName = Literal["first_response", "resolution"]
ObjectiveKey = tuple[str, int | None, Priority]
"""(agreement id, version number, priority): what a ticket's objective depends on."""


class Objectives(BaseModel):
    """What the agreement promises, as fractions, keyed for look-up by group."""

    agreement_version: int | None = None
    availability: float | None = None
    compliance: dict[str, float] = Field(
        default_factory=dict,
        description="'<priority or all>:<target>' -> the strictest objective, as a fraction.",
    )

    def for_target(self, target: TargetName, priority: Priority | None) -> float | None:
        """The priority's own objective if there is one, else the one for all priorities."""
        if priority is not None and f"{priority.value}:{target}" in self.compliance:
            return self.compliance[f"{priority.value}:{target}"]
        return self.compliance.get(f"all:{target}")


def _fraction(percent: float) -> float:
    """99.9 -> 0.999 (not 0.9990000000000001: objectives are shown and compared as written)."""
    return round(percent / 100, 12)


def objectives_of(agreement: Agreement | None, version: int | None = None) -> Objectives:
    """The availability target and the strictest compliance objective per priority and target."""
    if agreement is None:
        return Objectives()
    compliance: dict[str, float] = {}
    for slo in agreement.service_levels:
        key = f"{slo.priority.value if slo.priority else 'all'}:{slo.target}"
        compliance[key] = max(compliance.get(key, 0.0), _fraction(slo.percent))
    return Objectives(
        agreement_version=version,
        availability=_fraction(agreement.availability_target),
        compliance=compliance,
    )


def exact(value: float | Fraction) -> Fraction:
    """A decimal as written (0.05 -> 1/20, 0.999 -> 999/1000): verdicts never ride on binary
    rounding, so 18/20 -> 17/20 is a drop of exactly 1/20. A Fraction stays as it is."""
    return value if isinstance(value, Fraction) else Fraction(str(value))


def version_key(agreement_id: str, version: int | None) -> str:
    return f"{agreement_id}:{version}"


def normal_label(text: str) -> str:
    """A customer spelling folded for comparison: case and runs of white space do not count."""
    return " ".join(text.split()).casefold()


class Terms(BaseModel):
    """The objectives of every agreement version a report's tickets pinned, and the known
    customers. A ticket whose version is not listed is held to `fallback`."""

    fallback: Objectives = Field(default_factory=Objectives)
    versions: dict[str, Objectives] = Field(
        default_factory=dict, description="version_key(agreement, number) -> its objectives."
    )
    customers: dict[str, str] = Field(default_factory=dict, description="Customer id -> name.")
    _spellings: dict[str, str] | None = PrivateAttr(None)
    _keys: dict[str, str] = PrivateAttr(default_factory=dict)

    def objective(self, key: ObjectiveKey, target: TargetName) -> Fraction | None:
        agreement_id, version, priority = key
        found = self.versions.get(version_key(agreement_id, version), self.fallback)
        value = found.for_target(target, priority)
        return None if value is None else exact(value)

    def mean_objective(self, weights: Counter[ObjectiveKey], target: TargetName) -> Fraction | None:
        """The mean of the objectives of the tickets counted in `weights` (tickets per key)
        that have one; None if none has."""
        total, count = Fraction(0), 0
        for key, tickets in weights.items():
            objective = self.objective(key, target)
            if objective is not None:
                total += objective * tickets
                count += tickets
        return total / count if count else None

    def customer_key(self, spelling: str) -> str:
        """The customer's id if `spelling` is a known customer's id or name (case and spacing
        aside), else the spelling normalised (`normal_label`). Remembered per spelling: a
        report asks once per ticket, of a few spellings."""
        known = self._keys.get(spelling)
        if known is None:
            folded = normal_label(spelling)
            known = self._keys[spelling] = self._index().get(folded, folded)
        return known

    def _index(self) -> dict[str, str]:
        if self._spellings is None:
            spellings = {normal_label(name): id_ for id_, name in self.customers.items()}
            spellings.update({normal_label(id_): id_ for id_ in self.customers})
            self._spellings = spellings
        return self._spellings
