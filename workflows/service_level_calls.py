"""How ServiceLevelWatchWorkflow calls its activities: names, payloads, timeouts and retries.

Like `amendment_calls`, kept apart from the workflow so activities can import the contracts
without importing workflow code, and the workflow calls activities by name only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from slaflow.agreement import Contact
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.service_levels import ObjectiveStatus, Threshold
from temporalio.common import RetryPolicy

SERVICE_LEVEL_STATUSES = "service_level_statuses"
SEND_SERVICE_LEVEL_EMAIL = "send_service_level_email"
POST_SERVICE_LEVEL_SLACK = "post_service_level_slack"
RECORD_SERVICE_LEVEL_CLOSING = "record_service_level_closing"

WORKFLOW_ID = "service-levels"
"""The schedule's id, and the prefix of each run's workflow id (Temporal appends the time)."""


def schedule_id_for(task_queue: str) -> str:
    """One schedule per task queue (and so per deployment) in a namespace."""
    return f"{WORKFLOW_ID}-{task_queue}"


class WatchInput(BaseModel):
    task_queue: str = Field(description="Whose tickets count: those on this task queue.")


class StatusRequest(BaseModel):
    as_of: AwareDatetime
    task_queue: str


class AgreementServiceLevels(BaseModel):
    """Every objective of one agreement's version in force, over its current window, and who
    of that agreement is told."""

    agreement_id: str = DEFAULT_AGREEMENT_ID
    agreement_version: int
    agreement_name: str
    statuses: list[ObjectiveStatus]
    management: list[Contact] = Field(description="The management tier's contacts.")
    management_channel: str = Field(description="The management tier's Slack channel.")
    open_breaches: int = Field(0, description="Breached open tickets found through visibility.")
    closing: list[ObjectiveStatus] = Field(
        default_factory=list,
        description="Each objective's closing figure over its window that ended last.",
    )


class ServiceLevelReport(AgreementServiceLevels):
    """The default agreement's objectives (as before agreements were many; version 0 and
    nothing to watch when there is no default agreement), and every other agreement's."""

    as_of: AwareDatetime
    agreements: list[AgreementServiceLevels] = Field(
        default_factory=list, description="Every agreement but the default."
    )

    def parts(self) -> list[AgreementServiceLevels]:
        """Each agreement's objectives, the default's first."""
        return [self, *self.agreements]


Medium = Literal["email", "slack"]


class ServiceLevelNotice(BaseModel):
    """One warning about one objective's window, to management by one medium."""

    idempotency_key: str
    threshold: Threshold
    status: ObjectiveStatus
    agreement_name: str
    to: list[Contact] = Field(min_length=1)
    slack_channel: str


class ClosingRecord(BaseModel):
    """One agreement's closing figures, to be kept (the first kept for a window stays)."""

    agreement_id: str = DEFAULT_AGREEMENT_ID
    closing: list[ObjectiveStatus]
    recorded_at: AwareDatetime


class ClosingRecorded(BaseModel):
    new: int = Field(description="Closing figures not kept before.")


class NoticeReceipt(BaseModel):
    idempotency_key: str
    medium: Medium
    detail: str = Field(description="Message-ID, or channel and ts.")
    duplicate: bool = False


class WatchResult(BaseModel):
    as_of: AwareDatetime
    agreement_version: int
    statuses: list[ObjectiveStatus]
    closing: list[ObjectiveStatus] = Field(
        default_factory=list, description="The default agreement's windows that ended last."
    )
    agreements: list[AgreementServiceLevels] = Field(
        default_factory=list, description="Every other agreement's objectives."
    )
    sent: list[NoticeReceipt] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list, description="Key and reason of each failure.")


STATUS_TIMEOUT = timedelta(minutes=2)
NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_HEARTBEAT = timedelta(seconds=5)
"""A delivery attempt heartbeats while it runs (activities.heartbeat): an attempt lost with
its worker (kill -9) is retried after this, not after the minute of `NOTIFY_TIMEOUT`."""
NOTIFY_DEADLINE = timedelta(minutes=10)
"""Give up within a run; the next scheduled run tries again (the key was never stored)."""
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
STATUS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
