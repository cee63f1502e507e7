"""The people directory, who works on which agreement in which role, and the audit trail.

The audit trail lives here rather than in Temporal so it outlives workflow histories.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from activities.tables import UTCDateTime


class PersonRow(SQLModel, table=True):
    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254, unique=True, index=True, description="Lower case.")
    slack_user_id: str | None = Field(default=None, max_length=40, unique=True, index=True)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class MembershipRow(SQLModel, table=True):
    """A person's role on one agreement; one row per (person, agreement, role)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "agreement_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    agreement_id: str = Field(max_length=64, index=True)
    role: str = Field(max_length=30)


class AuditRow(SQLModel, table=True):
    """One accepted or refused command, decision or signature, with who and how."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    subject_kind: str = Field(max_length=20, description="ticket, amendment or person.")
    subject_id: str = Field(max_length=200, index=True)
    action: str = Field(max_length=40)
    outcome: str = Field(max_length=10, description="accepted or refused.")
    actor: str = Field(max_length=500, description="As recorded: 'Lea Lead via helpdesk'.")
    person_id: int | None = Field(default=None, index=True)
    credential: str = Field(max_length=200)
    method: str = Field(max_length=20)
    detail: str = Field(default="", max_length=2000)


class BrowserSessionRow(SQLModel, table=True):
    """A browser login, so logging out ends it on the server (the cookie alone is not enough)."""

    __tablename__ = "browser_sessions"

    id: str = Field(primary_key=True, max_length=64, description="Random; named by the cookie.")
    token_digest: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
