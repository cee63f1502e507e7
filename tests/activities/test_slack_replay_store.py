"""The shared store of accepted Slack request signatures, on SQLite and PostgreSQL.

Runs once per backend (`store_engine`: PostgreSQL when SLAFLOW_TEST_POSTGRES_URL is set).
"""

# ruff: noqa: F811  (test arguments named after the imported fixture)

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from activities.db import make_engine
from activities.slack_tables import SlackRequestSeenRow, claim_signature, purge_expired
from starter.slack_cockpit import DatabaseReplayGuard
from tests.activities.test_store import store_engine  # noqa: F401  (the per-backend fixture)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _rows(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(SlackRequestSeenRow)).one()


def test_a_signature_is_claimed_once(store_engine: Engine) -> None:
    expires = NOW + timedelta(minutes=5)
    assert claim_signature(store_engine, "v0=aaa", expires) is True
    assert claim_signature(store_engine, "v0=aaa", expires) is False
    assert claim_signature(store_engine, "v0=bbb", expires) is True
    with Session(store_engine) as session:
        row = session.get(SlackRequestSeenRow, "v0=aaa")
    assert row is not None and row.expires_at == expires and row.expires_at.tzinfo is not None


def test_purge_forgets_only_signatures_past_the_window(store_engine: Engine) -> None:
    claim_signature(store_engine, "v0=old", NOW - timedelta(seconds=1))
    claim_signature(store_engine, "v0=new", NOW + timedelta(seconds=1))
    assert purge_expired(store_engine, NOW) == 1
    assert _rows(store_engine) == 1
    assert claim_signature(store_engine, "v0=new", NOW + timedelta(minutes=5)) is False


def test_replicas_racing_on_one_request_let_exactly_one_through(store_engine: Engine) -> None:
    """Eight connections (own engines, as replicas would have) claim the same signature at
    the same moment: the primary key lets one insert win, the others see a conflict."""
    url = store_engine.url.render_as_string(hide_password=False)
    schema = None
    if store_engine.dialect.name == "postgresql":
        with store_engine.connect() as connection:
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    engines = [make_engine(url, schema=schema) for _ in range(8)]
    start = threading.Barrier(len(engines))
    results: list[bool] = []
    lock = threading.Lock()

    def claim(engine: Engine) -> None:
        start.wait()
        won = claim_signature(engine, "v0=raced", NOW + timedelta(minutes=5))
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for engine in engines:
        engine.dispose()
    assert sorted(results) == [False] * 7 + [True]
    assert _rows(store_engine) == 1


def test_database_guard_remembers_until_the_timestamp_is_stale(store_engine: Engine) -> None:
    now = [NOW.timestamp()]
    guard = DatabaseReplayGuard(store_engine, window_seconds=300, clock=lambda: now[0])
    stamp = int(now[0])
    assert guard.first_time("v0=a", stamp) is True
    assert guard.first_time("v0=a", stamp) is False
    other = DatabaseReplayGuard(store_engine, window_seconds=300, clock=lambda: now[0])
    assert other.first_time("v0=a", stamp) is False  # another replica, same database
    now[0] += 301 + DatabaseReplayGuard.PURGE_EVERY_SECONDS
    assert other.first_time("v0=b", int(now[0])) is True  # and "a" is purged on the way
    assert _rows(store_engine) == 1
