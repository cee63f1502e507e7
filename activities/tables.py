"""slaflow's own tables. They live beside the activities and are never seen by workflow code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


def _utc_column(**kwargs: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kwargs))


class AgreementVersionRow(SQLModel, table=True):
    """One numbered version of the agreement, in force from `effective_from`."""

    __tablename__ = "agreement_versions"

    number: int = Field(primary_key=True)
    effective_from: datetime = _utc_column(nullable=False, index=True)
    created_at: datetime = _utc_column(nullable=False)
    source: str = Field(description="file:<path> for a seed, amendment:<id> for a signed change.")
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    signatures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    diff: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class TicketFactRow(SQLModel, table=True):
    """What reporting needs of one ticket; upserted when it resolves and when it closes."""

    __tablename__ = "ticket_facts"

    ticket_id: str = Field(primary_key=True)
    customer: str = Field(index=True)
    priority: str = Field(index=True)
    channel: str = Field(index=True)
    agreement_version: int
    opened_at: datetime = _utc_column(nullable=False, index=True)
    acknowledged_at: datetime | None = _utc_column(nullable=True)
    first_response_at: datetime | None = _utc_column(nullable=True)
    resolved_at: datetime | None = _utc_column(nullable=True)
    closed_at: datetime | None = _utc_column(nullable=True)
    first_response_target_seconds: float
    resolution_target_seconds: float
    first_response_breached: bool
    resolution_breached: bool
    highest_tier: str
    escalations: int
    reopen_count: int
    status: str
    updated_at: datetime = _utc_column(nullable=False)


class NotificationRow(SQLModel, table=True):
    """One delivered notification, keyed by its idempotency key: a retry finds it and stops."""

    __tablename__ = "notifications"

    idempotency_key: str = Field(primary_key=True, max_length=300)
    channel: str = Field(description="email or slack")
    ticket_id: str = Field(index=True)
    sent_at: datetime = _utc_column(nullable=False)
    receipt: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
