"""API tokens stored in the database: only their SHA-256 digest, their role and their life.

The plaintext is shown once by `slaflow token create` and never stored; the API finds a token
by its digest. A revoked token keeps its row (and its name), so listings show who had access
and until when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from activities.tables import UTCDateTime


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True, description="Who or what uses it.")
    role: str = Field(max_length=20, description="intake, agent, manager or admin.")
    person_id: int | None = Field(
        default=None,
        foreign_key="people.id",
        index=True,
        description="The person it acts as; none: an integration named by `name`.",
    )
    digest: str = Field(max_length=64, unique=True, index=True, description="SHA-256, hex.")
    hint: str = Field(max_length=16, description="The token's first characters, for listings.")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
