"""How workflows call activities: names, timeouts and retry policies in one place.

Activities are called by name so workflow modules never import activity code (SQLAlchemy and
network clients in the sandbox slow every workflow start and break replay in odd ways).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from slaflow.customers import DEFAULT_AGREEMENT_ID
from temporalio.common import RetryPolicy

PIN_TERMS = "pin_terms"
RECORD_TICKET_FACTS = "record_ticket_facts"
SEND_EMAIL = "send_email"
POST_SLACK = "post_slack"
UPDATE_SLACK_ROOT = "update_slack_root"


class PinRequest(BaseModel):
    """Which terms a ticket gets: the agreement version in force at its opening."""

    opened_at: datetime
    agreement_id: str = Field(
        DEFAULT_AGREEMENT_ID, description="Whose version; requests from before were the default's."
    )
    version: int | None = Field(None, description="A given version instead of the one in force.")


class FactsRecorded(BaseModel):
    ticket_id: str


STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
"""Database writes retry until the database is back: a report must never lose a ticket."""

NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_DEADLINE = timedelta(hours=24)
NOTIFY_HEARTBEAT = timedelta(seconds=5)
"""A delivery attempt heartbeats while it runs (activities.heartbeat): an attempt lost with
its worker (kill -9) is retried after this, not after the minute of `NOTIFY_TIMEOUT`."""
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
"""A notification retries for a day at most every 30 s, so an outage of Slack or the mail
server delays it by at most half a minute after recovery. Permanent failures are raised
non-retryable by the activities and recorded on the ticket."""
