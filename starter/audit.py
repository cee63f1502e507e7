"""Writing the audit trail from the edges, and reading it back as JSON or CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine

from activities import audit_store
from activities.people_tables import AuditRow
from slaflow.people import Actor
from starter.report_formats import safe_cell


class AuditEntry(BaseModel):
    at: datetime
    action: str
    outcome: str
    actor: str
    person_id: int | None
    credential: str
    method: str
    detail: str


async def audit(
    engine: Engine,
    kind: str,
    subject_id: str,
    action: str,
    actor: Actor,
    *,
    refused: str | None = None,
    detail: str = "",
) -> None:
    """One row: accepted, or refused with the reason in `detail`."""
    await asyncio.to_thread(
        audit_store.record,
        engine,
        at=datetime.now(UTC),
        subject_kind=kind,
        subject_id=subject_id,
        action=action,
        outcome="refused" if refused is not None else "accepted",
        actor=actor,
        detail=refused if refused is not None else detail,
    )


def entries(rows: list[AuditRow]) -> list[AuditEntry]:
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]


CSV_COLUMNS = list(AuditEntry.model_fields)


def audit_csv(rows: list[AuditEntry]) -> str:
    """Spreadsheet-safe: text cells that would start a formula are escaped."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow([safe_cell(data[column]) for column in CSV_COLUMNS])
    return out.getvalue()
