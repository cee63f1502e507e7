"""Token values, names and roles: what is generated, what is shown, what is refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaflow.api_tokens import (
    HINT_LENGTH,
    NAME_SCHEMA_PATTERN,
    TOKEN_PREFIX,
    TokenInputError,
    check_token_name,
    new_token,
    parse_role,
    token_hint,
)
from slaflow.roles import Role, token_digest
from starter.api.sessions import safe_next


def test_new_tokens_are_prefixed_url_safe_and_unique() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert re.fullmatch(r"slf_[A-Za-z0-9_-]{43}", token), token
        assert re.fullmatch(r"[0-9a-f]{64}", token_digest(token))


@given(st.text(min_size=HINT_LENGTH))
def test_a_hint_is_a_short_prefix_of_the_token(token: str) -> None:
    hint = token_hint(token)
    assert token.startswith(hint) and len(hint) == HINT_LENGTH == len(TOKEN_PREFIX) + 4


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9._@-]{0,99}", fullmatch=True))
def test_names_of_letters_digits_and_punctuation_are_accepted(name: str) -> None:
    assert check_token_name(name) == name


@given(st.text().filter(lambda s: not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}", s)))
def test_other_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(TokenInputError) as refused:
        check_token_name(name)
    assert refused.value.field == "name"


@given(st.integers(min_value=0))
def test_all_digit_names_are_refused_because_revoke_reads_them_as_ids(number: int) -> None:
    with pytest.raises(TokenInputError, match="all digits"):
        check_token_name(str(number))


@pytest.mark.parametrize("text", ["intake", "AGENT", " Manager ", "admin"])
def test_roles_parse_in_any_case(text: str) -> None:
    assert parse_role(text) == Role(text.strip().lower())


def test_an_unknown_role_lists_the_roles() -> None:
    with pytest.raises(TokenInputError, match="choose one of intake, agent, manager, admin"):
        parse_role("root")


def test_each_role_includes_exactly_the_ones_before_it() -> None:
    roles = list(Role)
    for i, role in enumerate(roles):
        assert [role.includes(other) for other in roles] == [j <= i for j in range(len(roles))]


@given(st.text())
def test_next_is_always_a_path_on_this_site(target: str) -> None:
    chosen = safe_next(target, "/home")
    assert chosen == "/home" or (
        chosen == target
        and chosen.startswith("/")
        and not chosen.startswith("//")
        and "\\" not in chosen
        and all(ord(c) >= 0x20 and ord(c) != 0x7F for c in chosen)
    )


@given(st.text(alphabet="ab9._@- Z", max_size=12))
def test_the_schema_pattern_says_what_the_check_says(name: str) -> None:
    try:
        check_token_name(name)
        accepted = True
    except TokenInputError:
        accepted = False
    assert accepted == bool(re.fullmatch(NAME_SCHEMA_PATTERN, name))
