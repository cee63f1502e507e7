"""Slack request signatures already accepted, shared by every API replica through the database.

Slack signs each request over its timestamp and body, and a request more than 5 minutes from
now is refused anyway, so a signature need only be remembered until its timestamp leaves that
window. The signature is the primary key: of two replicas handed the same request at the same
moment, the database lets exactly one insert it (INSERT ... ON CONFLICT DO NOTHING RETURNING:
a row back for the one insert, none for the others), so exactly one of them carries it out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, Table, delete
from sqlmodel import Field, SQLModel

from activities.tables import _utc_column

__all__ = ["SlackRequestSeenRow", "claim_signature", "purge_expired"]


class SlackRequestSeenRow(SQLModel, table=True):
    """One accepted Slack request, by its signature, kept until it would be stale anyway."""

    __tablename__ = "slack_requests_seen"

    signature: str = Field(primary_key=True, max_length=128, description="X-Slack-Signature")
    expires_at: datetime = _utc_column(nullable=False, index=True)


def _table() -> Table:
    table: Table = SlackRequestSeenRow.__table__  # type: ignore[attr-defined]
    return table


def claim_signature(engine: Engine, signature: str, expires_at: datetime) -> bool:
    """True for the one caller that records `signature` first; False if it was already there.

    No row is ever read first: the insert itself decides, inside the database, so it holds
    across processes and machines."""
    from activities.db import upsert_insert  # db imports this module to register the table

    table = _table()
    statement = (
        upsert_insert(engine, table)
        .values(signature=signature, expires_at=expires_at.astimezone(UTC))
        .on_conflict_do_nothing(index_elements=[table.c.signature])
        .returning(table.c.signature)  # a row back only if inserted (rowcount is -1 on psycopg)
    )
    with engine.begin() as connection:
        return connection.execute(statement).first() is not None


def purge_expired(engine: Engine, now: datetime) -> int:
    """Forget signatures whose timestamps are past the window; how many were deleted."""
    table = _table()
    with engine.begin() as connection:
        deleted = connection.execute(delete(table).where(table.c.expires_at < now)).rowcount
    return int(deleted)
