"""ServiceLevelWatchWorkflow: one check of every service-level objective, started by a schedule.

Each run is short: read the status of every objective of the agreement in force over its
current window (an activity: database and visibility), then warn management by email and
Slack of each objective whose budget crossed its threshold. A Temporal Schedule starts a run
every `SLAFLOW_SERVICE_LEVEL_CHECK_EVERY` (see `starter.service_level_schedule`); runs do not
overlap. "Once per objective, window and threshold" is the notification store's doing: every
notice carries a key made of the three, so a retried activity and a later run send nothing new.
A failed delivery does not fail the run: it is reported, and the next run tries again.

Behind the `service-level-windows-close` patch, each run also keeps every objective's closing
figure over its window that ended last (the first run after the end writes it; later runs
write nothing), and tells management once of a window that ended below its objective.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from slaflow.service_levels import notice_key, notices_due

    from workflows import service_level_calls as calls

WINDOWS_CLOSE_PATCH = "service-level-windows-close"


def _notices(
    part: calls.AgreementServiceLevels, closing: bool
) -> list[tuple[calls.ServiceLevelNotice, str]]:
    """The warnings one agreement's objectives owe its own management tier, each with the
    activity that delivers it; with `closing`, those of its windows that just ended too."""
    owed = []
    for status in [*part.statuses, *(part.closing if closing else [])]:
        for threshold in notices_due(status):
            for medium, activity in (
                ("email", calls.SEND_SERVICE_LEVEL_EMAIL),
                ("slack", calls.POST_SERVICE_LEVEL_SLACK),
            ):
                notice = calls.ServiceLevelNotice(
                    idempotency_key=notice_key(
                        status.objective, status.window, threshold, medium, part.agreement_id
                    ),
                    threshold=threshold,
                    status=status,
                    agreement_name=part.agreement_name,
                    to=part.management,
                    slack_channel=part.management_channel,
                )
                owed.append((notice, activity))
    return owed


@workflow.defn
class ServiceLevelWatchWorkflow:
    @workflow.run
    async def run(self, input: calls.WatchInput) -> calls.WatchResult:
        report = await workflow.execute_activity(
            calls.SERVICE_LEVEL_STATUSES,
            calls.StatusRequest(as_of=workflow.now(), task_queue=input.task_queue),
            result_type=calls.ServiceLevelReport,
            start_to_close_timeout=calls.STATUS_TIMEOUT,
            retry_policy=calls.STATUS_RETRY,
        )
        closing = workflow.patched(WINDOWS_CLOSE_PATCH)
        result = calls.WatchResult(
            as_of=report.as_of,
            agreement_version=report.agreement_version,
            statuses=report.statuses,
            closing=report.closing if closing else [],
            agreements=report.agreements,
        )
        if closing:
            await self._keep_closing(report)
        deliveries = [
            self._deliver(activity, notice, result)
            for part in report.parts()
            for notice, activity in _notices(part, closing)
        ]
        await asyncio.gather(*deliveries)
        return result

    async def _keep_closing(self, report: calls.ServiceLevelReport) -> None:
        """Each agreement's closing figures, kept before anyone is told of them."""
        for part in report.parts():
            if part.closing:
                await workflow.execute_activity(
                    calls.RECORD_SERVICE_LEVEL_CLOSING,
                    calls.ClosingRecord(
                        agreement_id=part.agreement_id,
                        closing=part.closing,
                        recorded_at=report.as_of,
                    ),
                    result_type=calls.ClosingRecorded,
                    start_to_close_timeout=calls.STATUS_TIMEOUT,
                    retry_policy=calls.STATUS_RETRY,
                )

    async def _deliver(
        self, activity: str, notice: calls.ServiceLevelNotice, result: calls.WatchResult
    ) -> None:
        """Email and Slack independently: one being down does not hold back the other."""
        try:
            receipt = await workflow.execute_activity(
                activity,
                notice,
                result_type=calls.NoticeReceipt,
                start_to_close_timeout=calls.NOTIFY_TIMEOUT,
                heartbeat_timeout=calls.NOTIFY_HEARTBEAT,
                schedule_to_close_timeout=calls.NOTIFY_DEADLINE,
                retry_policy=calls.RETRY,
            )
        except ActivityError as error:
            cause = str(error.cause or error)
            workflow.logger.warning("%s not delivered: %s", notice.idempotency_key, cause)
            result.failed.append(f"{notice.idempotency_key}: {cause}")
            return
        result.sent.append(receipt)
