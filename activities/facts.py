"""Ticket facts for reporting, upserted so a retried or repeated write changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.tables import TicketFactRow
from slaflow.tickets import TicketFacts
from workflows.activity_calls import RECORD_TICKET_FACTS, FactsRecorded


def upsert_facts(engine: Engine, facts: TicketFacts) -> None:
    values = facts.model_dump()
    values.update(
        priority=facts.priority.value,
        channel=facts.channel.value,
        highest_tier=facts.highest_tier.value,
        status=facts.status.value,
        updated_at=datetime.now(UTC),
    )
    with Session(engine) as session:
        row = session.get(TicketFactRow, facts.ticket_id)
        if row is None:
            session.add(TicketFactRow(**values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        session.commit()


class FactsActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RECORD_TICKET_FACTS)
    def record_ticket_facts(self, facts: TicketFacts) -> FactsRecorded:
        upsert_facts(self._engine, facts)
        return FactsRecorded(ticket_id=facts.ticket_id)
