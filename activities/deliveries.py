"""Each notification delivered once: its receipt row, and a claim taken before sending.

A `NotificationRow` keyed by the idempotency key is written after a delivery; a retry that finds
it sends nothing.

One live attempt per notification: a claim with a lease, taken before anything is sent.

Temporal retries an attempt whose heartbeats stop arriving. On an overloaded worker the old
attempt may still be running when the retry starts, and both would send: the receipt row that
stops a retry is written only after the send. So an attempt first claims the notification's
idempotency key for a lease (`LEASE`, renewed every third of it while the attempt works); an
attempt that finds a live claim of another fails retryably and comes back a few seconds later,
when the first one's receipt answers it. The send and the recording of its receipt are
shielded from cancellation, so an attempt told it timed out still records what it sent.

A claim left by a dead worker (kill -9) lapses with its lease, and the retry sends: the
documented window in which SMTP, which cannot be asked whether it delivered, may send twice.
The lease is far longer than the heartbeat timeout's slack (a late renewal is the only way a
live attempt loses its claim) and short enough that a dead worker's notices wait half a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, delete, select, update
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import upsert_insert
from activities.tables import DeliveryClaimRow, NotificationRow, as_utc

__all__ = [
    "LEASE",
    "claim",
    "deliver_once",
    "load_receipt",
    "release",
    "store_receipt",
]

R = TypeVar("R")

LEASE = timedelta(seconds=30)
"""How long a claim holds without renewal."""

LONGEST_WAIT = timedelta(seconds=5)
"""An attempt that found a live claim retries after at most this: the first one usually
finishes within it."""

_table: Table = DeliveryClaimRow.__table__  # type: ignore[attr-defined]


def load_receipt(engine: Engine, key: str) -> dict[str, Any] | None:
    """The stored receipt of an already delivered notification, or None."""
    with Session(engine) as session:
        row = session.get(NotificationRow, key)
        return dict(row.receipt) if row is not None else None


def store_receipt(
    engine: Engine, key: str, channel: str, ticket_id: str, receipt: dict[str, Any]
) -> None:
    """Record a delivery; a concurrent attempt that recorded it first wins (its row is as good).

    ON CONFLICT DO NOTHING rather than catching the IntegrityError: no failed statement, so no
    aborted transaction and no error in the PostgreSQL log for an expected duplicate.
    """
    table: Table = NotificationRow.__table__  # type: ignore[attr-defined]
    statement = (
        upsert_insert(engine, table)
        .values(
            idempotency_key=key,
            channel=channel,
            ticket_id=ticket_id,
            sent_at=datetime.now(UTC),
            receipt=receipt,
        )
        .on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
    )
    with engine.begin() as connection:
        connection.execute(statement)


def claim(
    engine: Engine, key: str, holder: str, now: datetime, lease: timedelta
) -> datetime | None:
    """Take `key` for `holder` until now + lease. None when taken; otherwise the time the
    other holder's claim lapses."""
    until = now + lease
    with engine.begin() as connection:
        inserted = connection.execute(
            upsert_insert(engine, _table)
            .values(idempotency_key=key, holder=holder, claimed_until=until)
            .on_conflict_do_nothing(index_elements=[_table.c.idempotency_key])
        )
        if inserted.rowcount == 1:
            return None
        row = connection.execute(
            select(_table.c.holder, _table.c.claimed_until).where(_table.c.idempotency_key == key)
        ).one_or_none()
        if row is None:  # released between the insert and the read: try again next attempt
            return now
        lapses = as_utc(row.claimed_until)
        if row.holder != holder and lapses > now:
            return lapses
        taken = connection.execute(
            update(_table)
            .where(_table.c.idempotency_key == key, _table.c.holder == row.holder)
            .where(_table.c.claimed_until == row.claimed_until)
            .values(holder=holder, claimed_until=until)
        )
        return None if taken.rowcount == 1 else now


def release(engine: Engine, key: str, holder: str) -> None:
    """Give `key` up; a claim another attempt has since taken over is left alone."""
    with engine.begin() as connection:
        connection.execute(
            delete(_table).where(_table.c.idempotency_key == key, _table.c.holder == holder)
        )


async def deliver_once(
    engine: Engine,
    key: str,
    earlier: Callable[[dict[str, Any]], R],
    send: Callable[[], Awaitable[R]],
) -> R:
    """`send` the notification unless it was sent: `earlier` turns a stored receipt into the
    answer. Runs inside an activity; see the module docstring for the claim."""
    stored = await asyncio.to_thread(load_receipt, engine, key)
    if stored is not None:
        return earlier(stored)
    info = activity.info()
    holder = f"{info.workflow_run_id}/{info.activity_id}/{info.attempt}"
    now = datetime.now(UTC)
    lapses = await asyncio.to_thread(claim, engine, key, holder, now, LEASE)
    if lapses is not None:
        raise _in_progress(key, lapses - now)

    async def claimed() -> R:
        renewing = asyncio.create_task(_renew(engine, key, holder))
        try:
            again = await asyncio.to_thread(load_receipt, engine, key)
            return earlier(again) if again is not None else await send()
        finally:
            renewing.cancel()
            await asyncio.to_thread(release, engine, key, holder)

    return await asyncio.shield(asyncio.ensure_future(claimed()))


async def _renew(engine: Engine, key: str, holder: str) -> None:
    """Keep the claim while the attempt works (a slow SMTP dialogue outlives one lease)."""
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        await asyncio.to_thread(claim, engine, key, holder, datetime.now(UTC), LEASE)


def _in_progress(key: str, left: timedelta) -> ApplicationError:
    wait = min(max(left, timedelta(seconds=1)), LONGEST_WAIT)
    return ApplicationError(
        f"another attempt is sending {key}; its claim lapses in {left.total_seconds():.0f} s",
        type="DeliveryInProgress",
        next_retry_delay=wait,
    )
