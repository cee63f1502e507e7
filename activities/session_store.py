"""Browser sessions on the server (table `browser_sessions`): logging out ends one for good."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from activities.people_tables import BrowserSessionRow


def start_session(engine: Engine, token_digest: str, now: datetime) -> str:
    session_id = secrets.token_urlsafe(32)
    with Session(engine) as session:
        session.add(BrowserSessionRow(id=session_id, token_digest=token_digest, created_at=now))
        session.commit()
    return session_id


def live_digest(engine: Engine, session_id: str) -> str | None:
    """The token digest of a session that has not ended, or None."""
    with Session(engine) as session:
        row = session.get(BrowserSessionRow, session_id[:64])
        return row.token_digest if row is not None and row.ended_at is None else None


def end_session(engine: Engine, session_id: str, now: datetime) -> None:
    with Session(engine) as session:
        session.exec(
            update(BrowserSessionRow)
            .where(col(BrowserSessionRow.id) == session_id[:64])
            .values(ended_at=now)
        )
        session.commit()
