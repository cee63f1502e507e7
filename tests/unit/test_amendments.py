"""Amendment contracts and pure rules: validation, decisions, diff, compliance arithmetic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine

from activities.people_store import add_person, grant
from slaflow import amendments as am
from slaflow.amendments import (
    AmendmentProposal,
    AmendmentStatus,
    Approve,
    ClosedTicket,
    Reject,
    RequestChanges,
    Revise,
    Withdraw,
)
from slaflow.people import PersonRole
from slaflow.tiers import Channel, Priority
from starter import amendments_service as service
from tests.factories import T0, agreement_doc, make_agreement, make_terms

SIGNERS = [
    {"name": "Cora Customer", "role": "customer", "email": "cora@customer.example"},
    {
        "name": "Sam Owner",
        "role": "service owner",
        "email": "sam@example.com",
        "slack_user_id": "U9",
    },
]


def proposal_data(**overrides: Any) -> dict[str, Any]:
    doc = agreement_doc()
    doc["objectives"]["P1"]["first_response"]["within"] = "20m"
    data: dict[str, Any] = {
        "amendment_id": "A-1",
        "proposer": "pat@example.com",
        "agreement": doc,
        "rationale": "P1 first response 20m",
        "signatories": SIGNERS,
        "deadline": (T0 + timedelta(days=7)).isoformat(),
        "amends_version": 1,
    }
    data.update(overrides)
    return data


def make_proposal(**overrides: Any) -> AmendmentProposal:
    return AmendmentProposal.model_validate(proposal_data(**overrides))


def test_valid_proposal_defaults() -> None:
    p = make_proposal()
    assert not p.moves_open_tickets and p.effective_from is None
    assert p.remind_every == timedelta(days=1)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda d: d["agreement"]["objectives"].update(P5=d["agreement"]["objectives"]["P1"]),
            "P5",
        ),
        (
            lambda d: d["agreement"]["objectives"]["P2"]["resolution"].update(within="-1h"),
            "resolution",
        ),
        (lambda d: d.update(signatories=[]), "signatories"),
        (lambda d: d.update(signatories=[SIGNERS[0], SIGNERS[0]]), "listed twice"),
    ],
    ids=["unknown priority", "negative target", "no signatories", "signatory twice"],
)
def test_invalid_proposals_are_refused_with_a_reason(change: Any, where: str) -> None:
    data = proposal_data()
    change(data)
    with pytest.raises(ValidationError) as err:
        AmendmentProposal.model_validate(data)
    assert where in str(err.value)


def state() -> am.AmendmentState:
    return am.new_state(make_proposal(), T0)


def test_all_approvals_sign_it() -> None:
    s = state()
    am.apply(s, Approve(by="cora@customer.example"), T0)
    assert s.status is AmendmentStatus.PENDING
    am.apply(s, Approve(by="SAM@example.com", comment="ok"), T0 + timedelta(hours=1))
    assert s.status is AmendmentStatus.SIGNED and s.effective_from == T0 + timedelta(hours=1)
    sigs = am.signatures(s)
    assert [(x.email, x.comment, x.revision) for x in sigs] == [
        ("cora@customer.example", "", 1),
        ("sam@example.com", "ok", 1),
    ]


def test_refusals_name_the_reason() -> None:
    s = state()
    assert "not a signatory" in (am.refusal(s, Approve(by="eve@x.y")) or "")
    am.apply(s, Approve(by="cora@customer.example"), T0)
    assert "already decided" in (
        am.refusal(s, Reject(by="cora@customer.example", comment="x")) or ""
    )
    assert "only the proposer" in (am.refusal(s, Withdraw(by="cora@customer.example")) or "")
    am.apply(s, Reject(by="sam@example.com", comment="too slow"), T0)
    assert s.status is AmendmentStatus.REJECTED and "too slow" in s.closed_reason
    assert "is closed (rejected" in (am.refusal(s, Withdraw(by="pat@example.com")) or "")
    with pytest.raises(ValueError, match="closed"):
        am.apply(s, Approve(by="sam@example.com"), T0)


def test_revision_voids_approvals() -> None:
    s = state()
    am.apply(s, Approve(by="cora@customer.example"), T0)
    am.apply(s, RequestChanges(by="sam@example.com", comment="25m please"), T0)
    assert s.status is AmendmentStatus.CHANGES_REQUESTED
    assert "wait for the proposer" in (am.refusal(s, Approve(by="sam@example.com")) or "")
    am.apply(s, Revise(by="pat@example.com", agreement=make_agreement(), rationale="v2"), T0)
    assert s.revision == 2 and s.status is AmendmentStatus.PENDING
    assert all(d.decision is None for d in s.decisions)
    assert am.next_reminder(s) is None  # not asked yet for revision 2


def test_expire_names_who_did_not_sign() -> None:
    s = state()
    am.apply(s, Approve(by="cora@customer.example"), T0)
    am.expire(s, T0 + timedelta(days=7))
    assert s.status is AmendmentStatus.EXPIRED and "sam@example.com" in s.closed_reason


# ----- diff -------------------------------------------------------------------------------------

json_keys = st.text(alphabet="abcxyz_", min_size=1, max_size=4)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_keys, children, max_size=3)
    ),
    max_leaves=12,
)


@given(json_values)
def test_diff_of_identical_documents_is_empty(doc: Any) -> None:
    assert am.diff(doc, doc) == []


@given(json_values, json_values)
def test_applying_a_diff_reproduces_the_new_document(old: Any, new: Any) -> None:
    assert am.apply_diff(old, am.diff(old, new)) == new


def test_agreement_diff_names_paths() -> None:
    old = make_agreement()
    new = make_proposal().agreement
    assert new is not None
    changes = am.agreement_diff(old, new)
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("objectives.P1.first_response.within", "10m", "20m")
    ]
    assert am.apply_diff(old.model_dump(mode="json"), changes) == new.model_dump(mode="json")


# ----- compliance -------------------------------------------------------------------------------


def test_compliance_counts_met_targets_per_priority() -> None:
    current = make_agreement()  # P1: respond 10m, resolve 60m (24x7)
    proposed = make_proposal().agreement  # P1: respond 20m
    assert proposed is not None
    cals = make_terms(current).calendars
    m = timedelta(minutes=1)
    tickets = [
        ClosedTicket(
            ticket_id="a",
            priority=Priority.P1,
            channel=Channel.PHONE,
            opened_at=T0,
            first_response_at=T0 + 5 * m,
            resolved_at=T0 + 30 * m,
        ),
        ClosedTicket(
            ticket_id="b",
            priority=Priority.P1,
            channel=Channel.PHONE,
            opened_at=T0,
            first_response_at=T0 + 15 * m,
            resolved_at=T0 + 90 * m,
        ),
        ClosedTicket(
            ticket_id="c",
            priority=Priority.P1,
            channel=Channel.PHONE,
            opened_at=T0,
            first_response_at=None,
            resolved_at=T0 + 50 * m,
        ),
    ]
    report = am.impact(
        tickets,
        current,
        cals,
        proposed,
        cals,
        revision=1,
        current_version=1,
        window_days=90,
        since=T0 - timedelta(days=90),
        until=T0,
    )
    p1 = report.priorities[0]
    assert p1.tickets == 3
    assert (p1.first_response.current.met, p1.first_response.proposed.met) == (1, 2)
    assert p1.first_response.current_percent == 33.33
    assert p1.first_response.proposed_percent == 66.67
    assert (p1.resolution.current.met, p1.resolution.proposed.met) == (2, 2)
    assert report.priorities[1].first_response.current_percent is None


def test_slack_user_id_identifies_a_signatory_and_reminders_are_bounded() -> None:
    s = state()
    am.apply(s, Approve(by="U9"), T0)  # Sam's Slack id, as a button click knows him
    assert [d.decision for d in s.decisions] == [None, "approved"]
    s.last_asked_at, s.reminders = T0, am.MAX_REMINDERS - 1
    assert am.next_reminder(s) == T0 + timedelta(days=1)
    s.reminders = am.MAX_REMINDERS
    assert am.next_reminder(s) is None


def test_reminders_at_most_every_minute() -> None:
    with pytest.raises(ValidationError, match="at least 1m"):
        make_proposal(remind_every="30s")


def test_a_change_set_is_merged_onto_the_amended_version_and_validated(engine: Engine) -> None:
    base = make_agreement()
    data = make_proposal().model_dump(mode="json", exclude={"agreement", "changes"})
    changes = {"objectives": {"P1": {"first_response": {"within": "20m"}}}}
    draft = am.AmendmentProposal.model_validate({**data, "changes": changes})
    whole = am.with_changes_applied(draft, base)
    assert whole.changes is None and whole.agreement is not None
    assert [(c.path, c.old, c.new) for c in am.agreement_diff(base, whole.agreement)] == [
        ("objectives.P1.first_response.within", "10m", "20m")
    ]
    # the service refuses a change set that breaks the agreement, naming the field
    bad = draft.model_copy(
        update={"changes": {"objectives": {"P1": {"resolution": {"within": "-1h"}}}}}
    )
    before_deadline = draft.deadline - timedelta(days=1)
    for signatory in draft.signatories:  # signatories are people who sign for the agreement
        add_person(engine, signatory.name, signatory.email, None, T0)
        grant(engine, signatory.email, draft.agreement_id, PersonRole.PROVIDER_SIGNATORY)
    with pytest.raises(service.ProposalRefused) as refused:
        service.check_proposal(engine, bad, before_deadline)
    assert "changes.objectives.P1.resolution.within" in str(refused.value)
    checked = service.check_proposal(engine, draft, before_deadline)
    assert checked.agreement == whole.agreement


def test_a_proposal_is_either_a_whole_agreement_or_a_change_set() -> None:
    data = make_proposal().model_dump(mode="json")
    with pytest.raises(ValidationError, match="either agreement"):
        am.AmendmentProposal.model_validate({**data, "changes": {"name": "x"}})
    with pytest.raises(ValidationError, match="either agreement"):
        am.AmendmentProposal.model_validate({**data, "agreement": None})
