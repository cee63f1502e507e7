"""Revision 0013: a single-agreement database becomes the agreement `default`, and running
tickets keep the version numbers they pinned."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from activities import agreement_store, schema
from tests.activities.test_migrations import empty_engine  # noqa: F401  (the fixture)
from tests.factories import make_agreement


def _below() -> str:
    """The revision 0013 follows (whichever that is after merges)."""
    script = schema.ScriptDirectory.from_config(schema.alembic_config())
    below = script.get_revision("0013").down_revision
    assert isinstance(below, str)
    return below


def _seed_before(engine: Engine) -> None:
    """Today's single-agreement schema with two versions and an amendment's commit record."""
    schema.upgrade(engine, _below())
    now = datetime(2026, 11, 1, tzinfo=UTC)
    doc = make_agreement().model_dump_json()
    with engine.begin() as connection:
        for number in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO agreement_versions (number, effective_from, created_at, source,"
                    " document, signatures, diff) VALUES (:n, :now, :now, 'file:x', :doc, '[]',"
                    " '[]')"
                ),
                {"n": number, "now": now, "doc": doc},
            )
        connection.execute(
            text(
                "INSERT INTO amendment_commits (version, amendment_id, revision, rationale,"
                " amends_version, moves_open_tickets, committed_at) VALUES"
                " (2, 'am-1', 1, 'why', 1, false, :now)"
            ),
            {"now": now},
        )


def test_the_single_agreement_becomes_the_default_agreement(
    empty_engine: Engine,  # noqa: F811
) -> None:
    _seed_before(empty_engine)
    schema.upgrade(empty_engine)
    assert schema.drift(empty_engine, strict=True) == []
    rows = agreement_store.agreements(empty_engine)
    assert [(r.id, r.is_default, r.customer_id) for r in rows] == [("default", True, None)]
    assert [v.number for v in agreement_store.all_versions(empty_engine, "default")] == [1, 2]
    pinned = agreement_store.version(empty_engine, 2, "default")  # what a running ticket re-pins
    assert agreement_store.agreement_of(pinned) == make_agreement()
    with empty_engine.connect() as connection:
        commit = connection.execute(text("SELECT agreement_id, version FROM amendment_commits"))
        assert commit.one() == ("default", 2)


def test_after_the_upgrade_another_agreement_numbers_from_one(
    empty_engine: Engine,  # noqa: F811
) -> None:
    _seed_before(empty_engine)
    schema.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agreements (id, customer_id, is_default, rules, source, created_at)"
                " VALUES ('acme', 'acme', false, '[]', 't', :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    row = agreement_store.add_version(
        empty_engine,
        make_agreement(),
        agreement_id="acme",
        effective_from=agreement_store.EPOCH,
        source="test",
    )
    assert (row.agreement_id, row.number) == ("acme", 1)
    assert agreement_store.latest_number(empty_engine, "default") == 2


def test_an_empty_database_gets_no_agreement_row(empty_engine: Engine) -> None:  # noqa: F811
    schema.upgrade(empty_engine)
    assert agreement_store.agreements(empty_engine) == []
