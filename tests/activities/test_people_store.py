"""The people directory on SQLite and PostgreSQL, and who may act on which agreement's tickets.

Runs once per backend (`store_engine`: PostgreSQL when SLAFLOW_TEST_POSTGRES_URL is set).
"""

# ruff: noqa: F811  (test arguments named after the imported fixture)

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from activities import audit_store
from activities.agreement_store import seed_people_once
from activities.people_store import (
    PersonConflict,
    PersonNotFound,
    add_person,
    find_person,
    grant,
    list_people,
    person_by_slack,
    revoke,
    set_active,
)
from activities.token_store import create_token
from slaflow.agreement import Agreement
from slaflow.people import Actor, PersonRole
from slaflow.roles import Role, token_digest
from starter.acting import ActingRefused, acting_actor
from starter.api.token_resolver import TokenResolver
from tests.activities.test_store import store_engine  # noqa: F401  (the per-backend fixture)
from tests.factories import agreement_doc

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_person_is_found_by_id_or_email_and_emails_are_unique(store_engine: Engine) -> None:
    lea = add_person(store_engine, "Lea Lead", "Lea@Example.com", "U1", NOW)
    assert find_person(store_engine, "lea@example.com") == lea
    assert find_person(store_engine, str(lea.id)) == lea
    assert person_by_slack(store_engine, "U1") == lea
    with pytest.raises(PersonConflict):
        add_person(store_engine, "Other Lea", "LEA@example.com", None, NOW)
    with pytest.raises(PersonNotFound):
        find_person(store_engine, "99999999999999999999999")


def test_roles_are_granted_once_and_revoked_once(store_engine: Engine) -> None:
    add_person(store_engine, "Lea Lead", "lea@example.com", None, NOW)
    grant(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD)
    again = grant(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD)
    assert again.roles_on("acme") == {PersonRole.TEAM_LEAD}
    assert [p.email for p in list_people(store_engine, "acme")] == ["lea@example.com"]
    assert list_people(store_engine, "globex") == []
    assert revoke(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD).memberships == ()
    with pytest.raises(PersonConflict, match="no team_lead role"):
        revoke(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD)


def test_the_seed_runs_while_nobody_works_on_the_agreement(store_engine: Engine) -> None:
    agreement = Agreement.model_validate(agreement_doc())
    seed_people_once(store_engine, "acme", agreement)
    seeded = list_people(store_engine, "acme")
    assert {p.email for p in seeded} >= {"agent1@example.com", "lead1@example.com"}
    revoke(store_engine, "agent1@example.com", "acme", PersonRole.AGENT)
    seed_people_once(store_engine, "acme", agreement)  # a restart: the revocation stays
    assert find_person(store_engine, "agent1@example.com").roles_on("acme") == set()
    seed_people_once(store_engine, "globex", agreement)  # the same people on another agreement
    assert find_person(store_engine, "lead1@example.com").roles_on("globex") == {
        PersonRole.TEAM_LEAD
    }


def _token_actor(person_id: int | None, name: str = "t") -> Actor:
    return Actor(name=name, method="token", credential=name, person_id=person_id)


def test_a_person_acts_as_themself_on_their_own_agreement_only(store_engine: Engine) -> None:
    lea = add_person(store_engine, "Lea Lead", "lea@example.com", None, NOW)
    grant(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD)
    mine = _token_actor(lea.id, "lea-token")
    assert acting_actor(store_engine, mine, Role.AGENT, "acme", None) == mine
    with pytest.raises(ActingRefused, match="does not work on agreement globex"):
        acting_actor(store_engine, mine, Role.AGENT, "globex", None)
    with pytest.raises(ActingRefused, match="acts as that person only"):
        acting_actor(store_engine, mine, Role.AGENT, "acme", "max@example.com")
    assert acting_actor(store_engine, mine, Role.ADMIN, "globex", None) == mine
    grant(store_engine, "lea@example.com", "globex", PersonRole.CUSTOMER_SIGNATORY)
    with pytest.raises(ActingRefused):  # a signatory signs; it does not work tickets
        acting_actor(store_engine, mine, Role.AGENT, "globex", None)


def test_an_integration_acts_for_a_person_of_the_ticket_agreement(store_engine: Engine) -> None:
    lea = add_person(store_engine, "Lea Lead", "lea@example.com", None, NOW)
    grant(store_engine, "lea@example.com", "acme", PersonRole.TEAM_LEAD)
    helpdesk = _token_actor(None, "helpdesk")
    assert acting_actor(store_engine, helpdesk, Role.AGENT, "acme", None) == helpdesk
    acting = acting_actor(store_engine, helpdesk, Role.AGENT, "acme", str(lea.id))
    assert (acting.display, acting.person_id) == ("Lea Lead via helpdesk", lea.id)
    for who, why in (
        ("nobody@example.com", "no person"),
        ("lea@example.com", "does not work on agreement globex"),
    ):
        with pytest.raises(ActingRefused, match=why):
            acting_actor(store_engine, helpdesk, Role.AGENT, "globex", who)
    set_active(store_engine, "lea@example.com", False)
    with pytest.raises(ActingRefused, match="deactivated"):
        acting_actor(store_engine, helpdesk, Role.AGENT, "acme", "lea@example.com")


async def test_a_deactivated_person_s_token_stops_working(store_engine: Engine) -> None:
    lea = add_person(store_engine, "Lea Lead", "lea@example.com", None, NOW)
    token = create_token(store_engine, "lea", Role.AGENT, NOW, lea.id).token
    resolver = TokenResolver({}, store_engine, cache_seconds=0)
    principal = await resolver.principal_of_digest(token_digest(token))
    assert principal is not None and principal.person == lea
    assert await resolver.name_of_digest(token_digest(token)) == "Lea Lead"
    set_active(store_engine, "lea@example.com", False)
    assert await resolver.principal_of_digest(token_digest(token)) is None


def test_the_audit_trail_keeps_order_and_knows_used_credentials(store_engine: Engine) -> None:
    actor = Actor(name="Lea Lead", method="link", credential="link:abc", person_id=1)
    for outcome in ("refused", "accepted"):
        audit_store.record(
            store_engine,
            at=NOW,
            subject_kind="amendment",
            subject_id="a-1",
            action="approve",
            outcome=outcome,
            actor=actor,
        )
    rows = audit_store.trail(store_engine, "amendment", "a-1")
    assert [r.outcome for r in rows] == ["refused", "accepted"]
    assert audit_store.used(store_engine, "link:abc")
    assert not audit_store.used(store_engine, "link:other")
    assert audit_store.trail(store_engine, "ticket", "a-1") == []


def test_signatories_must_sign_for_the_agreement_at_proposal_and_revision(
    store_engine: Engine,
) -> None:
    from slaflow.amendments import Signatory
    from starter.amendments_service import signatory_problem

    cora = Signatory(name="Cora", role="customer", email="cora@acme.example")
    assert "not a person of the directory" in signatory_problem(store_engine, "acme", [cora])
    add_person(store_engine, "Cora Customer", "cora@acme.example", None, NOW)
    grant(store_engine, "cora@acme.example", "acme", PersonRole.AGENT)
    assert "not a customer or provider signatory of agreement acme" in signatory_problem(
        store_engine, "acme", [cora]
    )
    grant(store_engine, "cora@acme.example", "acme", PersonRole.CUSTOMER_SIGNATORY)
    assert signatory_problem(store_engine, "acme", [cora]) == ""
    assert signatory_problem(store_engine, "globex", [cora]) != ""  # another customer's
    revoke(store_engine, "cora@acme.example", "acme", PersonRole.CUSTOMER_SIGNATORY)
    assert signatory_problem(store_engine, "acme", [cora]).startswith("signatories.0.email")
    grant(store_engine, "cora@acme.example", "acme", PersonRole.CUSTOMER_SIGNATORY)
    set_active(store_engine, "cora@acme.example", False)
    assert "deactivated" in signatory_problem(store_engine, "acme", [cora])
