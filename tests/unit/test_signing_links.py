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
