"""Signing links: genuine only as issued, for their amendment, until their deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.signing_links import LinkRefused, SigningLink, make_token, nonce_for, read_token

SECRET = "x" * 40
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
LINK = SigningLink("A-1", 2, "cora@acme.example", NOW + timedelta(days=1), nonce_for("k"))


def test_a_link_reads_back_as_issued() -> None:
    assert read_token(SECRET, make_token(SECRET, LINK), "A-1", NOW) == LINK
    assert LINK.credential == f"link:{LINK.nonce}" and nonce_for("k") == LINK.nonce


@pytest.mark.parametrize(
    ("secret", "amendment_id", "now", "why"),
    [
        ("y" * 40, "A-1", NOW, "not genuine"),
        (SECRET, "A-2", NOW, "another amendment"),
        (SECRET, "A-1", NOW + timedelta(days=1), "expired"),
    ],
    ids=["other secret", "other amendment", "after the deadline"],
)
def test_a_link_is_refused_elsewhere(
    secret: str, amendment_id: str, now: datetime, why: str
) -> None:
    with pytest.raises(LinkRefused, match=why):
        read_token(secret, make_token(SECRET, LINK), amendment_id, now)


@given(st.text(max_size=200))
def test_any_altered_or_made_up_token_is_refused(garbage: str) -> None:
    token = make_token(SECRET, LINK)
    altered = ("f" if token[0] != "f" else "e") + token[1:]  # the payload, not padding bits
    for candidate in (garbage, altered):
        if candidate == token:
            continue
        with pytest.raises(LinkRefused):
            read_token(SECRET, candidate, "A-1", NOW)


def test_the_request_email_carries_a_link_for_its_signatory_alone() -> None:
    from pydantic import SecretStr

    from activities.notify_amendment import signing_lines
    from slaflow import amendments
    from slaflow.amendments import Signatory
    from slaflow.settings import Settings
    from tests.unit.test_amendments import make_proposal
    from workflows.amendment_calls import AmendmentNotice

    proposal = make_proposal()
    view = amendments.view(amendments.new_state(proposal, NOW))
    signer = proposal.signatories[0]
    settings = Settings(_env_file=None, signing_link_secret=SecretStr(SECRET))

    def notice(kind: str, to: Signatory) -> AmendmentNotice:
        return AmendmentNotice.model_validate(
            {"idempotency_key": f"k/{kind}", "kind": kind, "to": to, "amendment": view}
        )

    lines = signing_lines(settings, notice("request", signer))
    path = lines[-1].split("/sign/", 1)[1]
    amendment_id, token = path.split("/", 1)
    link = read_token(SECRET, token, amendment_id, view.deadline - timedelta(hours=1))
    assert (link.email, link.revision, link.expires) == (signer.email, 1, view.deadline)
    proposer = Signatory(name="P", role="proposer", email=view.proposer)
    assert signing_lines(settings, notice("request", proposer)) == []  # not a signatory
    assert signing_lines(settings, notice("outcome", signer)) == []
    assert signing_lines(Settings(_env_file=None), notice("request", signer)) == []
