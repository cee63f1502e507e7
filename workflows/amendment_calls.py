"""How AmendmentWorkflow calls its activities: names, payloads, timeouts and retries.

Kept apart from `workflows/activity_calls.py` (the ticket workflow's) so the two workflows can
change independently; the same rule holds: activities are called by name and no activity module
is imported into workflow code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from slaflow.agreement import Agreement
from slaflow.amendments import AmendmentView, Change, Signatory, Signature
from slaflow.customers import DEFAULT_AGREEMENT_ID
from temporalio.common import RetryPolicy

AMENDMENT_IMPACT = "amendment_impact"
COMMIT_AMENDMENT = "commit_amendment"
SEND_AMENDMENT_EMAIL = "send_amendment_email"
POST_AMENDMENT_SLACK = "post_amendment_slack"

MOVE_OPEN_TICKETS = "move_open_tickets"
STALE_AMENDMENT = "StaleAmendment"
"""ApplicationError type of a commit refused because the amended version is no longer latest."""


class ImpactRequest(BaseModel):
    amendment_id: str
    revision: int
    agreement_id: str = DEFAULT_AGREEMENT_ID
    amends_version: int
    agreement: Agreement
    until: AwareDatetime = Field(description="End of the window (the workflow's now).")


class CommitRequest(BaseModel):
    amendment_id: str
    revision: int
    agreement_id: str = DEFAULT_AGREEMENT_ID
    agreement: Agreement
    rationale: str
    amends_version: int
    effective_from: AwareDatetime
    moves_open_tickets: bool
    signatures: list[Signature]


class CommitResult(BaseModel):
    version: int
    effective_from: datetime
    diff: list[Change]


NoticeKind = Literal["request", "reminder", "outcome"]


class AmendmentNotice(BaseModel):
    """One message to one person about an amendment (email, or a Slack DM to their user id)."""

    idempotency_key: str = Field(description="<workflow id>/<revision>/<kind><n>/<email>/<medium>")
    kind: NoticeKind
    to: Signatory
    amendment: AmendmentView


class AmendmentEmailReceipt(BaseModel):
    message_id: str
    duplicate: bool = False


class AmendmentSlackReceipt(BaseModel):
    channel: str
    ts: str
    duplicate: bool = False


STORE_TIMEOUT = timedelta(seconds=60)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
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


class MoveRequest(BaseModel):
    """Move the open tickets of one agreement on `task_queue` to its version `version`."""

    amendment_id: str
    version: int
    task_queue: str
    agreement_id: str = DEFAULT_AGREEMENT_ID


class MovedTickets(BaseModel):
    moved: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list, description="Ticket and the reason it kept.")


MOVE_TIMEOUT = timedelta(hours=1)
MOVE_HEARTBEAT = timedelta(seconds=30)
