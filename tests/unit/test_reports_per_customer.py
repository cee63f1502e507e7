"""Reports per customer and per agreement, with figures worked out by hand; tickets out of an
agreement's scope count in no figure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities import agreement_store
from activities.db import create_tables, make_engine
from activities.facts import upsert_facts
from slaflow.reports import GroupBy, SlaReport
from slaflow.tickets import TicketFacts, TicketStatus
from starter import reports_service
from starter.reports_service import Scope
from tests.factories import agreement_file, customer_doc, make_agreement

M = timedelta(minutes=1)
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
SPAN = (T0 - timedelta(days=1), T0 + timedelta(days=7))


def _facts(
    ticket_id: str,
    customer: str,
    agreement_id: str,
    response: int,
    resolved: int,
    *,
    breached: bool = False,
    measured: bool = True,
) -> TicketFacts:
    """A closed P1 ticket: acknowledged and responded `response` minutes after opening."""
    return TicketFacts(
        ticket_id=ticket_id,
        customer=customer,
        agreement_id=agreement_id,
        measured=measured,
        priority="P1",
        channel="email",
        agreement_version=1,
        opened_at=T0,
        acknowledged_at=T0 + response * M,
        first_response_at=T0 + response * M,
        resolved_at=T0 + resolved * M,
        closed_at=T0 + timedelta(days=1),
        first_response_target_seconds=600,
        resolution_target_seconds=3600,
        first_response_breached=breached,
        resolution_breached=breached,
        highest_tier="agent",
        escalations=0,
        reopen_count=0,
        status=TicketStatus.CLOSED,
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reports.db'}")
    create_tables(engine)
    agreement_store.add_version(
        engine, make_agreement(), effective_from=agreement_store.EPOCH, source="test"
    )
    slo = [{"priority": "P1", "target": "first_response", "percent": 95}]
    acme = customer_doc("acme", "5m", service_levels=slo)
    agreement_store.seed_file(engine, agreement_file("acme-gold", "acme", acme))
    globex = customer_doc("globex", "20m")
    agreement_store.seed_file(engine, agreement_file("globex-hosting", "globex", globex))
    for facts in (
        _facts("A1", "acme", "acme-gold", 5, 30),
        _facts("A2", "acme", "acme-gold", 20, 120, breached=True),
        _facts("A3", "acme", "acme-gold", 8, 50),
        _facts("G1", "globex", "globex-hosting", 3, 20),
        _facts("G2", "globex", "globex-hosting", 4, 40),
        _facts("G3", "globex", "globex-hosting", 90, 900, breached=True, measured=False),
        _facts("D1", "Musterkunde AG", "default", 30, 200, breached=True),
    ):
        upsert_facts(engine, facts)
    yield engine
    engine.dispose()


def _sla(engine: Engine, group_by: GroupBy = GroupBy.PRIORITY, **scope: str) -> SlaReport:
    span = reports_service.Period(*SPAN, Scope.model_validate(scope))
    return reports_service.sla(engine, span, group_by)


def test_one_customers_figures_and_its_agreements_objective(engine: Engine) -> None:
    report = _sla(engine, customer="acme")
    totals = report.totals
    # 3 tickets; A2 missed both targets: 2 of 3 met; MTTA = (5 + 20 + 8) / 3 = 11 minutes;
    # MTTR = (30 + 120 + 50) / 3 minutes = 4000 s
    assert (totals.opened, totals.first_response_met, totals.first_response_measured) == (3, 2, 3)
    assert totals.first_response_compliance == pytest.approx(2 / 3)
    assert totals.mtta_mean_seconds == pytest.approx(660)
    assert totals.mttr_mean_seconds == pytest.approx(4000)
    assert report.agreement_version == 1
    assert report.groups[0].first_response_objective == 0.95


def test_an_out_of_scope_ticket_counts_in_no_figure(engine: Engine) -> None:
    totals = _sla(engine, agreement="globex-hosting").totals
    # G1, G2 met (3 and 4 minutes); G3 breached but is out of scope: not counted
    assert (totals.opened, totals.first_response_met, totals.breached_tickets) == (2, 2, 0)
    assert totals.first_response_compliance == 1.0
    assert totals.mtta_mean_seconds == pytest.approx(210)
    span = reports_service.Period(*SPAN, Scope(customer="globex"))
    assert reports_service.count(engine, span) == 2


def test_everyone_grouped_by_agreement(engine: Engine) -> None:
    report = _sla(engine, GroupBy.AGREEMENT)
    groups = {g.group: (g.opened, g.first_response_met) for g in report.groups}
    assert groups == {"acme-gold": (3, 2), "default": (1, 0), "globex-hosting": (2, 2)}
    assert report.totals.opened == 6


def test_a_bad_scope_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="agreement"):
        Scope(agreement="Not A Slug")
    with pytest.raises(ValueError, match="customer"):
        Scope(customer="x" * 201)
    assert Scope(customer="", agreement="") == Scope()
    assert Scope.model_validate({"customer": "", "agreement": ""}) == Scope()
