"""The input guard's pure checks: JSON depth without parsing, NaN, control characters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from starter.api.input_guard import InputError, check_json, check_query, json_depth

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(values)
def test_depth_without_parsing_is_the_parsed_depth(value: Any) -> None:
    assert json_depth(json.dumps(value).encode()) == depth(value)


@pytest.mark.parametrize(
    "body",
    [
        '"x\\' * 100_000,  # unterminated strings ending in a lone backslash
        '"' + '\\"' * 100_000,  # one string of escaped quotes, never closed
        '["' * 100_000,
    ],
)
def test_hostile_strings_are_scanned_in_one_pass(body: str) -> None:
    assert json_depth(body.encode()) <= 100_000  # completes: the scan is linear


def test_nan_is_refused_naming_where() -> None:
    with pytest.raises(InputError, match=r"^body\.a\.1: nan is not a JSON number"):
        check_json(b'{"a": [1, NaN]}')


def test_deep_json_is_refused() -> None:
    with pytest.raises(InputError, match="nested deeper than 32 levels"):
        check_json(b"[" * 33 + b"]" * 33)
    assert check_json(b"[" * 32 + b"]" * 32) is not None


def test_a_control_character_in_a_query_names_the_parameter() -> None:
    with pytest.raises(InputError, match=r"^query\.customer: control characters"):
        check_query(b"limit=5&customer=a%00b")
    check_query(b"customer=Caf%C3%A9+Ltd&limit=5")
