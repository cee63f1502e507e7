"""The people rules that need no database: emails, roles, the seed from an agreement, actors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.agreement import Agreement
from slaflow.people import (
    Actor,
    PeopleInputError,
    PersonRole,
    normal_email,
    parse_person_role,
    party_role,
    people_of_agreement,
)
from tests.factories import agreement_doc


def test_emails_are_compared_trimmed_and_in_lower_case() -> None:
    assert normal_email("  Lea.Lead@Example.COM ") == "lea.lead@example.com"
    for bad in ("", "lea", "a@b@c", "a b@c", "x@" + "y" * 260):
        with pytest.raises(PeopleInputError) as refused:
            normal_email(bad)
        assert refused.value.field == "email"


def test_roles_parse_in_any_spelling_and_name_the_choices_otherwise() -> None:
    assert parse_person_role("Team-Lead") is PersonRole.TEAM_LEAD
    assert parse_person_role("customer signatory") is PersonRole.CUSTOMER_SIGNATORY
    with pytest.raises(PeopleInputError, match="provider_signatory"):
        parse_person_role("ceo")
    assert PersonRole.PROVIDER_SIGNATORY.signs and not PersonRole.MANAGER.signs


def test_a_party_signs_for_the_customer_when_its_role_says_so() -> None:
    assert party_role("Customer representative") is PersonRole.CUSTOMER_SIGNATORY
    assert party_role("service owner") is PersonRole.PROVIDER_SIGNATORY


def test_the_agreement_file_seeds_every_contact_and_party_once_per_role() -> None:
    doc = agreement_doc()
    doc["parties"] = [
        {"name": "Cora Customer", "role": "customer", "email": "Cora@Acme.example"},
        {"name": "Max", "role": "head of support", "email": "mgmt1@example.com"},
    ]
    seeds = people_of_agreement(Agreement.model_validate(doc))
    pairs = {(s.email, s.role) for s in seeds}
    assert ("agent1@example.com", PersonRole.AGENT) in pairs
    assert ("mgmt1@example.com", PersonRole.MANAGER) in pairs
    assert ("mgmt1@example.com", PersonRole.PROVIDER_SIGNATORY) in pairs
    assert ("cora@acme.example", PersonRole.CUSTOMER_SIGNATORY) in pairs
    assert len(pairs) == len(seeds)
    agent = next(s for s in seeds if s.email == "agent1@example.com")
    assert agent.slack_user_id == "UAGE1"


@given(person=st.text(min_size=1, max_size=50), via=st.text(min_size=1, max_size=50))
def test_an_integration_acting_for_a_person_names_both(person: str, via: str) -> None:
    integration = Actor(name=via, method="token", credential=via)
    assert integration.display == via
    acting = integration.on_behalf_of(7, person, "p@example.com")
    assert acting.display == f"{person} via {via}"
    assert (acting.person_id, acting.credential, acting.method) == (7, via, "token")
