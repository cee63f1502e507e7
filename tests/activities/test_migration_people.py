"""Revision 0016: people, memberships and the audit log; existing tokens become integrations
(no person), and the revision goes down again cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, text

from activities import schema, token_store
from activities.people_store import add_person
from slaflow.roles import Role
from tests.activities.test_migrations import empty_engine  # noqa: F401  (the fixture)


def _below() -> str:
    script = schema.ScriptDirectory.from_config(schema.alembic_config())
    below = script.get_revision("0016").down_revision
    assert isinstance(below, str)
    return below


def test_stored_tokens_become_integrations_and_people_can_own_new_ones(
    empty_engine: Engine,  # noqa: F811
) -> None:
    schema.upgrade(empty_engine, _below())
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_tokens (name, role, digest, hint, created_at) VALUES"
                " ('helpdesk', 'agent', :digest, 'slf_abcd', :now)"
            ),
            {"digest": "0" * 64, "now": now},
        )
    schema.upgrade(empty_engine)
    assert schema.drift(empty_engine, strict=True) == []
    [old] = token_store.list_tokens(empty_engine)
    assert (old.name, old.person_id) == ("helpdesk", None)
    lea = add_person(empty_engine, "Lea Lead", "lea@example.com", None, now)
    made = token_store.create_token(empty_engine, "lea", Role.AGENT, now, lea.id)
    assert made.row.person_id == lea.id


def test_the_revision_goes_down_again(empty_engine: Engine) -> None:  # noqa: F811
    schema.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM api_tokens"))
    schema.downgrade(empty_engine, _below())
    tables = set(inspect(empty_engine).get_table_names())
    assert not tables & {"people", "memberships", "audit_log"}
    assert "person_id" not in {c["name"] for c in inspect(empty_engine).get_columns("api_tokens")}
