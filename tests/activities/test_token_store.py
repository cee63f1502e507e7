"""Stored API tokens on SQLite and PostgreSQL: digest only, names unique, revocation final.

Runs once per backend (`store_engine`: PostgreSQL when SLAFLOW_TEST_POSTGRES_URL is set).
"""

# ruff: noqa: F811  (test arguments named after the imported fixture)

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from activities.token_store import (
    TokenConflict,
    TokenNotFound,
    create_token,
    find_token,
    list_tokens,
    revoke_token,
    role_of_digest,
)
from slaflow.roles import Role, token_digest
from tests.activities.test_store import store_engine  # noqa: F401  (the per-backend fixture)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_only_the_digest_is_stored(store_engine: Engine) -> None:
    made = create_token(store_engine, "helpdesk", Role.INTAKE, NOW)
    with store_engine.connect() as connection:
        stored = [
            tuple(map(str, row)) for row in connection.execute(text("SELECT * FROM api_tokens"))
        ]
    assert len(stored) == 1
    assert not any(made.token in value for value in stored[0])
    assert token_digest(made.token) in stored[0]
    [row] = list_tokens(store_engine)
    assert (row.id, row.name, row.role, row.hint) == (
        made.row.id,
        "helpdesk",
        "intake",
        made.token[:8],
    )
    assert row.created_at == NOW and row.created_at.tzinfo is not None


def test_names_are_unique_even_after_revocation(store_engine: Engine) -> None:
    create_token(store_engine, "ci", Role.AGENT, NOW)
    revoke_token(store_engine, "ci", NOW)
    with pytest.raises(TokenConflict, match="a token named 'ci' exists already"):
        create_token(store_engine, "ci", Role.AGENT, NOW)
    assert [row.name for row in list_tokens(store_engine)] == ["ci"]


def test_a_digest_finds_its_role_until_revoked(store_engine: Engine) -> None:
    made = create_token(store_engine, "lead", Role.MANAGER, NOW)
    digest = token_digest(made.token)
    assert role_of_digest(store_engine, digest, NOW) is Role.MANAGER
    assert role_of_digest(store_engine, token_digest("slf_other"), NOW) is None
    revoked = revoke_token(store_engine, str(made.row.id), NOW + timedelta(hours=1))
    assert revoked.revoked_at == NOW + timedelta(hours=1)
    assert role_of_digest(store_engine, digest, NOW + timedelta(hours=2)) is None
    with pytest.raises(TokenConflict, match="revoked already"):
        revoke_token(store_engine, "lead", NOW + timedelta(hours=3))
    assert find_token(store_engine, "lead").revoked_at == NOW + timedelta(hours=1)


def test_last_use_is_written_at_most_once_a_minute(store_engine: Engine) -> None:
    made = create_token(store_engine, "busy", Role.AGENT, NOW)
    digest = token_digest(made.token)
    for seconds in (0, 10, 59):
        role_of_digest(store_engine, digest, NOW + timedelta(seconds=seconds))
    assert find_token(store_engine, "busy").last_used_at == NOW
    role_of_digest(store_engine, digest, NOW + timedelta(seconds=61))
    assert find_token(store_engine, "busy").last_used_at == NOW + timedelta(seconds=61)


def test_unknown_names_and_ids_are_not_found(store_engine: Engine) -> None:
    for missing in ("nobody", "7", "99999999999999999999999"):
        with pytest.raises(TokenNotFound):
            find_token(store_engine, missing)
