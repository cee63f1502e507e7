"""Ticket facts for reporting, upserted so a retried or repeated write changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, Table
from temporalio import activity

from activities.db import upsert_insert
from activities.tables import TicketFactRow, tier_ack_column
from slaflow.tickets import TicketFacts
from slaflow.tiers import Tier
from workflows.activity_calls import RECORD_TICKET_FACTS, FactsRecorded


def upsert_facts(engine: Engine, facts: TicketFacts) -> None:
    """Insert the ticket's row or overwrite it, atomically: a retried activity may race its
    earlier attempt, and a check-then-insert would fail one of them on the primary key."""
    values = facts.model_dump(exclude={"tier_ack_seconds"})
    values.update(
        waits=[w.model_dump(mode="json") for w in facts.waits],
        priority_changes=[c.model_dump(mode="json") for c in facts.priority_changes],
        priority=facts.priority.value,
        channel=facts.channel.value,
        highest_tier=facts.highest_tier.value,
        status=facts.status.value,
        resolved_tier=facts.resolved_tier.value if facts.resolved_tier else None,
        updated_at=datetime.now(UTC),
    )
    for tier in Tier:
        values[tier_ack_column(tier.value)] = facts.tier_ack_seconds.get(tier)
    table: Table = TicketFactRow.__table__  # type: ignore[attr-defined]
    insert = upsert_insert(engine, table).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.ticket_id],
        set_={name: insert.excluded[name] for name in values if name != "ticket_id"},
    )
    with engine.begin() as connection:
        connection.execute(statement)


class FactsActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RECORD_TICKET_FACTS)
    def record_ticket_facts(self, facts: TicketFacts) -> FactsRecorded:
        upsert_facts(self._engine, facts)
        return FactsRecorded(ticket_id=facts.ticket_id)
