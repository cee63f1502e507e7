"""The amendment record kept beside each agreement version it produced.

`agreement_versions` holds the document, signatures and diff; what the amendment itself said
(revision, rationale, whether open tickets move to the new terms) lives here, keyed by
agreement and version number, so the ticket workflow can later ask whether a version moves
open tickets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from activities.tables import UTCDateTime


class AmendmentCommitRow(SQLModel, table=True):
    __tablename__ = "amendment_commits"

    agreement_id: str = Field(
        primary_key=True,
        max_length=64,
        default="default",
        sa_column_kwargs={"server_default": "default"},
    )
    version: int = Field(primary_key=True, description="The agreement version it produced.")
    amendment_id: str = Field(index=True, unique=True)
    revision: int
    rationale: str
    amends_version: int
    moves_open_tickets: bool
    committed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
