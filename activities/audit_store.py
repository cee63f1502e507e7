"""The audit trail (table `audit_log`): every accepted or refused command and signature."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from activities.people_tables import AuditRow
from slaflow.people import Actor


def record(
    engine: Engine,
    *,
    at: datetime,
    subject_kind: str,
    subject_id: str,
    action: str,
    outcome: str,
    actor: Actor,
    detail: str = "",
) -> None:
    row = AuditRow(
        at=at,
        subject_kind=subject_kind,
        subject_id=subject_id[:200],
        action=action[:40],
        outcome=outcome,
        actor=actor.display[:500],
        person_id=actor.person_id,
        credential=actor.credential[:200],
        method=actor.method,
        detail=detail[:2000],
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()


def trail(engine: Engine, subject_kind: str, subject_id: str) -> list[AuditRow]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditRow)
                .where(AuditRow.subject_kind == subject_kind, AuditRow.subject_id == subject_id)
                .order_by(col(AuditRow.at), col(AuditRow.id))
            )
        )


def used(engine: Engine, credential: str) -> bool:
    """Whether a credential was accepted once already (one-time signing links)."""
    with Session(engine) as session:
        return (
            session.exec(
                select(AuditRow.id).where(
                    AuditRow.credential == credential, AuditRow.outcome == "accepted"
                )
            ).first()
            is not None
        )
