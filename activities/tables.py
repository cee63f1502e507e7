"""slaflow's own tables. They live beside the activities and are never seen by workflow code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, TypeDecorator
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp with time zone that Python always sees as an aware UTC datetime.

    The backends disagree otherwise: PostgreSQL answers in the session's time zone (whatever
    the server or role is configured with), and SQLite keeps no offset at all, storing the wall
    time it is given and answering naive values. So values are converted to UTC on the way in
    (which also makes SQLite's text comparisons in WHERE and ORDER BY correct) and come back
    as UTC on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _utc_column(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


class CustomerRow(SQLModel, table=True):
    """An organisation with one or more agreements."""

    __tablename__ = "customers"

    id: str = Field(primary_key=True, max_length=64)
    name: str


class AgreementRow(SQLModel, table=True):
    """One agreement: its customer (none for the default agreement) and the rules that pick it
    at intake. Its terms live in numbered versions."""

    __tablename__ = "agreements"

    id: str = Field(primary_key=True, max_length=64)
    customer_id: str | None = Field(default=None, index=True, max_length=64)
    is_default: bool = Field(default=False)
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    source: str = Field(default="", description="file:<path> it was seeded from.")
    created_at: datetime = _utc_column(nullable=False)


class AgreementVersionRow(SQLModel, table=True):
    """One numbered version of one agreement, in force from `effective_from`."""

    __tablename__ = "agreement_versions"

    agreement_id: str = Field(
        primary_key=True,
        max_length=64,
        default="default",
        sa_column_kwargs={"server_default": "default"},
    )
    number: int = Field(primary_key=True)
    effective_from: datetime = _utc_column(nullable=False, index=True)
    created_at: datetime = _utc_column(nullable=False)
    source: str = Field(description="file:<path> for a seed, amendment:<id> for a signed change.")
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    signatures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    diff: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class TicketFactRow(SQLModel, table=True):
    """What reporting needs of one ticket; upserted when it resolves, closes, breaches, reopens."""

    __tablename__ = "ticket_facts"

    ticket_id: str = Field(primary_key=True)
    customer: str = Field(index=True)
    priority: str = Field(index=True)
    channel: str = Field(index=True)
    agreement_version: int
    agreement_id: str = Field(
        default="default", index=True, sa_column_kwargs={"server_default": "default"}
    )  # the agreement whose version it pinned
    measured: bool = Field(
        default=True,
        sa_column_kwargs={"server_default": sa_true()},
        description="False: out of scope or excluded, in no compliance figure.",
    )
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
    # Added for reports; server defaults let a migration add them to rows written before.
    paused_seconds: float = Field(default=0, sa_column_kwargs={"server_default": "0"})
    pauses: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    repause_gaps_seconds: list[float] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="Per pause that followed a resume: seconds from that resume to it.",
    )
    first_response_seconds: float | None = Field(
        default=None, description="Business seconds counted."
    )
    resolution_seconds: float | None = Field(default=None, description="Business seconds counted.")
    acknowledged_seconds: float | None = Field(
        default=None, description="Business seconds to the first acknowledgement."
    )
    resolved_tier: str | None = Field(default=None, description="The tier it was at when resolved.")
    agent_ack_seconds: float | None = None
    team_lead_ack_seconds: float | None = None
    specialist_ack_seconds: float | None = None
    management_ack_seconds: float | None = None
    waits: list[dict[str, str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="Closed waiting spans: start, end, status (for the amendment what-if).",
    )
    priority_changes: list[dict[str, str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="Each priority change: at, old, new (for the amendment what-if).",
    )


def tier_ack_column(tier: str) -> str:
    """The column holding a tier's seconds from first page to first acknowledgement."""
    return f"{tier}_ack_seconds"


class NotificationRow(SQLModel, table=True):
    """One delivered notification, keyed by its idempotency key: a retry finds it and stops."""

    __tablename__ = "notifications"

    idempotency_key: str = Field(primary_key=True, max_length=300)
    channel: str = Field(description="email or slack")
    ticket_id: str = Field(index=True)
    sent_at: datetime = _utc_column(nullable=False)
    receipt: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class DeliveryClaimRow(SQLModel, table=True):
    """The attempt now sending a notification, until `claimed_until` (see delivery_claims)."""

    __tablename__ = "delivery_claims"

    idempotency_key: str = Field(primary_key=True, max_length=300)
    holder: str = Field(max_length=300, description="workflow run / activity id / attempt")
    claimed_until: datetime = _utc_column(nullable=False)
