"""The database layer on SQLite and PostgreSQL: agreement versions, ticket facts, receipts.

Every test runs once per backend. PostgreSQL runs when SLAFLOW_TEST_POSTGRES_URL is set (.ci/run
sets it), each test in a schema of its own that is dropped afterwards, with a session time zone
that is not UTC so values that only look right in UTC are caught.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event, func, text
from sqlmodel import Session, select

from activities.agreement_store import (
    EPOCH,
    NoAgreementError,
    add_version,
    agreement_of,
    all_versions,
    seed_agreements,
    version,
    version_in_force,
)
from activities.db import create_tables, make_engine
from activities.deliveries import load_receipt, store_receipt
from activities.facts import upsert_facts
from activities.tables import AgreementVersionRow, NotificationRow, TicketFactRow
from slaflow.tickets import TicketFacts, TicketStatus
from slaflow.tiers import Channel, Priority, Tier
from starter.api.routers import agreement as agreement_api

POSTGRES_URL = os.environ.get("SLAFLOW_TEST_POSTGRES_URL", "")
DEFAULT_AGREEMENT = Path(__file__).resolve().parents[2] / "agreements" / "default.yaml"
SESSION_TIME_ZONE = "Asia/Kathmandu"  # UTC+05:45: no whole-hour offset hides a mistake
CEST = timezone(timedelta(hours=2))

T = TypeVar("T")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Empty tables on the backend of the parameter."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'slaflow.db'}")
        create_tables(engine)
        yield engine
        engine.dispose()
        return

    if not POSTGRES_URL:
        pytest.skip(
            "SLAFLOW_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL)"
        )
    schema = f"slaflow_test_{uuid.uuid4().hex}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, schema=schema)

    @event.listens_for(engine, "connect")
    def _time_zone(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET TIME ZONE '{SESSION_TIME_ZONE}'")
        dbapi_connection.commit()

    try:
        create_tables(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _utc_aware(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0)


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def _concurrently(n: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(i)` in n threads released at once; re-raise the first failure."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


# ----- agreement versions -----------------------------------------------------------------------


def test_seed_is_version_1_from_the_file_and_idempotent(store_engine: Engine) -> None:
    first = seed_agreements(store_engine, DEFAULT_AGREEMENT)[0]
    again = seed_agreements(store_engine, DEFAULT_AGREEMENT)[0]

    assert first.number == again.number == 1
    assert first.source == f"file:{DEFAULT_AGREEMENT}"
    assert first.effective_from == EPOCH and _utc_aware(first.effective_from)
    assert _utc_aware(first.created_at)
    assert again.created_at == first.created_at
    assert _count(store_engine, AgreementVersionRow) == 1
    assert agreement_of(version(store_engine, 1)) == agreement_of(first)


def test_concurrent_seeds_store_one_version(store_engine: Engine) -> None:
    rows = _concurrently(4, lambda _i: seed_agreements(store_engine, DEFAULT_AGREEMENT)[0])

    assert {row.number for row in rows} == {1}
    assert _count(store_engine, AgreementVersionRow) == 1


def test_add_version_numbers_on(store_engine: Engine) -> None:
    seeded = seed_agreements(store_engine, DEFAULT_AGREEMENT)[0]
    agreement = agreement_of(seeded)
    signatures = [{"party": "customer", "signed_by": "Ada", "at": "2026-01-01T00:00:00Z"}]
    diff = [{"path": "objectives.P1.first_response.within", "old": "15m", "new": "10m"}]

    second = add_version(
        store_engine,
        agreement,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        source="amendment:A-1",
        signatures=signatures,
        diff=diff,
    )
    third = add_version(
        store_engine,
        agreement,
        effective_from=datetime(2027, 1, 1, tzinfo=UTC),
        source="amendment:A-2",
    )

    assert (second.number, third.number) == (2, 3)
    stored = version(store_engine, 2)
    assert stored.signatures == signatures and stored.diff == diff
    assert version(store_engine, 3).signatures == [] and version(store_engine, 3).diff == []
    assert agreement_of(stored) == agreement
    with pytest.raises(NoAgreementError):
        version(store_engine, 4)
    shown = agreement_api.one_version(2, store_engine)  # what GET /agreement/versions/2 answers
    assert shown.signatures == signatures and shown.diff == diff
    assert [v.signatures for v in agreement_api.versions(store_engine)] == [[], signatures, []]


def _three_versions(engine: Engine) -> None:
    """v1 from the epoch, v2 from 2025-01-01 00:00 +02:00 (22:00 UTC the day before), v3 2030."""
    agreement = agreement_of(seed_agreements(engine, DEFAULT_AGREEMENT)[0])
    add_version(engine, agreement, effective_from=datetime(2025, 1, 1, tzinfo=CEST), source="a:2")
    add_version(engine, agreement, effective_from=datetime(2030, 1, 1, tzinfo=UTC), source="a:3")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2024, 12, 31, 21, 59, 59, tzinfo=UTC), 1),
        (datetime(2024, 12, 31, 22, 0, tzinfo=UTC), 2),  # the instant v2 takes effect
        (datetime(2025, 1, 1, 0, 0, tzinfo=CEST), 2),  # the same instant, as it was written
        (datetime(2024, 12, 31, 23, 0, tzinfo=UTC), 2),  # wall time before, instant after
        (datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC), 2),
        (datetime(2030, 1, 1, 5, 0, tzinfo=timezone(timedelta(hours=5))), 3),
        (datetime(2099, 1, 1, tzinfo=UTC), 3),
    ],
)
def test_version_in_force_picks_by_effective_instant(
    store_engine: Engine, at: datetime, expected: int
) -> None:
    _three_versions(store_engine)

    row = version_in_force(store_engine, at)

    assert row.number == expected
    assert _utc_aware(row.effective_from) and _utc_aware(row.created_at)
    assert row.effective_from <= at


def test_version_in_force_returns_the_instant_written(store_engine: Engine) -> None:
    _three_versions(store_engine)

    row = version_in_force(store_engine, datetime(2026, 1, 1, tzinfo=UTC))

    assert row.effective_from == datetime(2024, 12, 31, 22, 0, tzinfo=UTC)
    assert row.effective_from.tzinfo == UTC


def test_no_version_in_force(store_engine: Engine) -> None:
    with pytest.raises(NoAgreementError):
        version_in_force(store_engine, datetime(2026, 1, 1, tzinfo=UTC))
    agreement = agreement_of(seed_agreements(store_engine, DEFAULT_AGREEMENT)[0])
    with Session(store_engine) as session:  # make v1 start later: nothing is in force before it
        session.exec(select(AgreementVersionRow)).one().effective_from = datetime(
            2026, 1, 1, tzinfo=UTC
        )
        session.commit()
    add_version(
        store_engine, agreement, effective_from=datetime(2027, 1, 1, tzinfo=UTC), source="a"
    )

    with pytest.raises(NoAgreementError):
        version_in_force(store_engine, datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert version_in_force(store_engine, datetime(2026, 6, 1, tzinfo=UTC)).number == 1


def test_all_versions_oldest_first_and_aware(store_engine: Engine) -> None:
    _three_versions(store_engine)

    rows = all_versions(store_engine)

    assert [row.number for row in rows] == [1, 2, 3]
    assert [row.source for row in rows][1:] == ["a:2", "a:3"]
    assert all(_utc_aware(row.effective_from) and _utc_aware(row.created_at) for row in rows)


def test_agreement_api_answers_utc_datetimes(store_engine: Engine) -> None:
    """The API routes read through the same store: aware UTC values on every backend."""
    _three_versions(store_engine)

    summaries = agreement_api.versions(store_engine)
    in_force = agreement_api.in_force(store_engine)
    one = agreement_api.one_version(2, store_engine)

    assert [s.number for s in summaries] == [1, 2, 3]
    assert in_force.number == 2 and one.number == 2
    assert one.effective_from == datetime(2024, 12, 31, 22, 0, tzinfo=UTC)
    for model in (*summaries, in_force, one):
        assert _utc_aware(model.effective_from) and _utc_aware(model.created_at)
        body = model.model_dump(mode="json")
        assert body["effective_from"].endswith(("Z", "+00:00")), body["effective_from"]
        assert body["created_at"].endswith(("Z", "+00:00")), body["created_at"]


# ----- ticket facts -----------------------------------------------------------------------------

OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _facts(ticket_id: str = "T-1", **overrides: Any) -> TicketFacts:
    values: dict[str, Any] = {
        "ticket_id": ticket_id,
        "customer": "Acme",
        "priority": Priority.P1,
        "channel": Channel.PORTAL,
        "agreement_version": 1,
        "opened_at": OPENED,
        "acknowledged_at": OPENED + timedelta(minutes=5),
        "first_response_at": OPENED + timedelta(minutes=10),
        "resolved_at": OPENED + timedelta(hours=2),
        "closed_at": None,
        "first_response_target_seconds": 900.0,
        "resolution_target_seconds": 4 * 3600.0,
        "first_response_breached": False,
        "resolution_breached": False,
        "highest_tier": Tier.AGENT,
        "escalations": 0,
        "reopen_count": 0,
        "status": TicketStatus.RESOLVED,
        **overrides,
    }
    return TicketFacts(**values)


def _fact_row(engine: Engine, ticket_id: str) -> TicketFactRow:
    with Session(engine) as session:
        row = session.get(TicketFactRow, ticket_id)
    assert row is not None
    return row


def test_facts_insert_then_update_keeps_one_row(store_engine: Engine) -> None:
    upsert_facts(store_engine, _facts())
    inserted = _fact_row(store_engine, "T-1")
    closed_at = datetime(2026, 3, 2, 15, 0, tzinfo=CEST)  # 13:00 UTC
    upsert_facts(
        store_engine,
        _facts(
            closed_at=closed_at,
            status=TicketStatus.CLOSED,
            highest_tier=Tier.MANAGEMENT,
            escalations=3,
            reopen_count=1,
            resolution_breached=True,
        ),
    )

    assert _count(store_engine, TicketFactRow) == 1
    row = _fact_row(store_engine, "T-1")
    assert inserted.status == "resolved" and inserted.closed_at is None
    assert (row.status, row.highest_tier, row.escalations, row.reopen_count) == (
        "closed",
        "management",
        3,
        1,
    )
    assert row.resolution_breached is True and row.first_response_breached is False
    assert (row.priority, row.channel, row.customer) == ("P1", "portal", "Acme")
    assert row.closed_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert row.opened_at == OPENED
    for value in (row.opened_at, row.acknowledged_at, row.resolved_at, row.closed_at):
        assert _utc_aware(value), value
    assert _utc_aware(row.updated_at) and row.updated_at >= inserted.updated_at


def test_facts_of_different_tickets_are_separate_rows(store_engine: Engine) -> None:
    upsert_facts(store_engine, _facts("T-1"))
    upsert_facts(store_engine, _facts("T-2", priority=Priority.P3, resolved_at=None))

    assert _count(store_engine, TicketFactRow) == 2
    assert _fact_row(store_engine, "T-2").priority == "P3"
    assert _fact_row(store_engine, "T-2").resolved_at is None
    assert _fact_row(store_engine, "T-1").priority == "P1"


def test_concurrent_upserts_of_one_ticket_keep_one_row(store_engine: Engine) -> None:
    """A retried activity can race its earlier attempt: neither may fail on the primary key."""
    _concurrently(6, lambda i: upsert_facts(store_engine, _facts(escalations=i)))

    assert _count(store_engine, TicketFactRow) == 1
    assert _fact_row(store_engine, "T-1").escalations in range(6)


# ----- notification receipts --------------------------------------------------------------------

KEY = "ticket-T-1/3/email"


def test_receipt_stored_once_and_loaded(store_engine: Engine) -> None:
    receipt = {"message_id": "<a@slaflow.test>", "recipients": ["lead@example.com"]}

    assert load_receipt(store_engine, KEY) is None
    store_receipt(store_engine, KEY, "email", "T-1", receipt)
    store_receipt(store_engine, KEY, "email", "T-1", {"message_id": "<b@slaflow.test>"})

    assert _count(store_engine, NotificationRow) == 1
    assert load_receipt(store_engine, KEY) == receipt  # the first record wins
    with Session(store_engine) as session:
        row = session.get(NotificationRow, KEY)
    assert row is not None and row.channel == "email" and row.ticket_id == "T-1"
    assert _utc_aware(row.sent_at)


def test_concurrent_receipts_of_one_key_keep_one_row(store_engine: Engine) -> None:
    _concurrently(
        6,
        lambda i: store_receipt(store_engine, KEY, "slack", "T-1", {"channel": "C1", "ts": str(i)}),
    )

    assert _count(store_engine, NotificationRow) == 1
    stored = load_receipt(store_engine, KEY)
    assert stored is not None and stored["channel"] == "C1"
