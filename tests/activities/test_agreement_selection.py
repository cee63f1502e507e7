"""Selection against the store: the customer's agreements, else the default; and the visibility
query that lists one agreement's tickets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities import agreement_store
from activities.db import create_tables, make_engine
from slaflow.customers import UnknownCustomerError
from slaflow.tiers import Channel
from starter.tickets_service import TicketFilter, build_list_query
from tests.factories import agreement_doc, agreement_file, customer_doc


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'select.db'}")
    create_tables(engine)
    for i in range(30):
        name = f"c{i:02d}"
        file = agreement_file(f"{name}-gold", name, customer_doc(name, "5m"), rules=[])
        agreement_store.seed_file(engine, file)
    yield engine
    engine.dispose()


def test_a_customer_gets_its_own_agreement_among_many(engine: Engine) -> None:
    chosen = agreement_store.select_for(engine, "c17", None, Channel.EMAIL, [])
    assert (chosen.agreement_id, chosen.customer_id) == ("c17-gold", "c17")


def test_without_a_default_an_unknown_customer_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownCustomerError, match="'nobody' has no agreement"):
        agreement_store.select_for(engine, "nobody", None, Channel.EMAIL, [])
    agreement_store.seed_file(engine, agreement_file("default", None, agreement_doc()))
    chosen = agreement_store.select_for(engine, "nobody", None, Channel.EMAIL, [])
    assert (chosen.agreement_id, chosen.rule) == (
        "default",
        "default agreement (customer has none)",
    )


def test_seeding_again_changes_nothing(engine: Engine) -> None:
    again = agreement_file("c03-gold", "c03", customer_doc("c03", "1h"), rules=[])
    row = agreement_store.seed_file(engine, again)
    assert (row.agreement_id, row.number) == ("c03-gold", 1)
    assert row.document["objectives"]["P1"]["first_response"]["within"] == "5m"  # the first seed
    assert len(agreement_store.all_versions(engine, "c03-gold")) == 1


def test_the_list_query_filters_by_agreement_quoted() -> None:
    query = build_list_query(TicketFilter(agreement="acme-gold", customer="O'Brien"))
    assert "SlaAgreement = 'acme-gold'" in query
    assert "SlaCustomer = 'O\\'Brien'" in query
    with pytest.raises(ValueError, match="agreement"):
        TicketFilter(agreement="x' OR 'a'='a")
