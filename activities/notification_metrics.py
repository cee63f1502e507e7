"""Worker metrics of what the ladder does, counted where notifications leave: a Temporal activity
interceptor that reads the notification activities' inputs and outcomes.

Counting here rather than in the workflow keeps metrics out of deterministic code (a replay
would count again) and out of the notification activities themselves. Each notice is posted to
its own tier's Slack thread exactly once per ticket (key `<workflow id>/<n>/slack/<its tier>`),
so escalations, breaches and warnings are counted on the first attempt of that post. Every
delivery attempt's outcome is counted per channel.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from slaflow.notifications import EmailNotification, SlackNotification
from slaflow.tickets import Notice, NoticeKind
from workflows.activity_calls import POST_SLACK, SEND_EMAIL

ESCALATIONS = Counter(
    "slaflow_escalations", "Escalation notices, by the tier escalated to.", ["tier"]
)
BREACHES = Counter("slaflow_breaches", "Breach notices, by the tier told.", ["tier"])
WARNINGS = Counter("slaflow_warnings", "Pre-breach warnings, by the tier told.", ["tier"])
NOTIFICATIONS_SENT = Counter(
    "slaflow_notifications_sent",
    "Notifications delivered (duplicate: an earlier attempt had already sent it).",
    ["channel", "kind", "duplicate"],
)
NOTIFICATION_FAILURES = Counter(
    "slaflow_notification_failures",
    "Failed notification attempts by channel; permanent ones are recorded on the ticket, "
    "the others are retried.",
    ["channel", "permanent"],
)

_NOTICE_COUNTERS = {
    NoticeKind.ESCALATION: ESCALATIONS,
    NoticeKind.BREACH: BREACHES,
    NoticeKind.WARNING: WARNINGS,
}
_CHANNELS = {SEND_EMAIL: "email", POST_SLACK: "slack"}


def count_notice(notice: Notice) -> None:
    counter = _NOTICE_COUNTERS.get(notice.kind)
    if counter is not None:
        counter.labels(tier=notice.tier.value).inc()


def is_own_tier_post(request: SlackNotification) -> bool:
    """The post of a notice to its own tier (not a line in an earlier tier's thread)."""
    return request.idempotency_key.endswith(f"/slack/{request.notice.tier.value}")


class NotificationMetricsInterceptor(Interceptor):
    """Pass to `Worker(interceptors=[...])`."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingInbound(next)


class _CountingInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        channel = _CHANNELS.get(info.activity_type)
        request = input.args[0] if input.args else None
        if channel is None or not isinstance(request, EmailNotification | SlackNotification):
            return await super().execute_activity(input)
        if (
            isinstance(request, SlackNotification)
            and info.attempt == 1
            and is_own_tier_post(request)
        ):
            count_notice(request.notice)
        try:
            receipt = await super().execute_activity(input)
        except Exception as exc:
            permanent = isinstance(exc, ApplicationError) and exc.non_retryable
            NOTIFICATION_FAILURES.labels(channel=channel, permanent=str(permanent).lower()).inc()
            raise
        duplicate = bool(getattr(receipt, "duplicate", False))
        NOTIFICATIONS_SENT.labels(
            channel=channel, kind=request.notice.kind.value, duplicate=str(duplicate).lower()
        ).inc()
        return receipt
