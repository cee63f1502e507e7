"""Service-level objectives, live: the tickets each window counts, and management's warnings.

Tickets come from two places. Resolved and closed tickets from the `ticket_facts` table (only
its long-standing columns are read); open tickets that already breached from Temporal
visibility (running TicketWorkflows with `SlaBreached = true` on the deployment's task queue),
each queried for which of its targets breached, so a window is warned about before those
tickets close. `slaflow.service_levels` does the arithmetic.

Warnings reuse the ticket notifications' machinery, as amendment notices do: SMTP sending and
error classification of `EmailActivities`, the Slack client and classification of
`SlackActivities`, the Jinja environment of the ticket mails, and the idempotency receipts
(`load_receipt` / `store_receipt`) keyed per objective, window, threshold and medium.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiohttp
import aiosmtplib
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities import agreement_store, notify_email, notify_slack
from activities.deliveries import deliver_once, load_receipt, store_receipt
from activities.notify_email import EmailActivities, message_id_for
from activities.notify_slack import SlackActivities
from activities.service_level_tables import record_closing
from activities.tables import TicketFactRow
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.notifications import SlackNotification
from slaflow.service_levels import (
    THRESHOLDS,
    MeasuredTicket,
    ObjectiveStatus,
    Threshold,
    closing_statuses,
    merge_tickets,
    min_volume,
    notice_key,
    previous_window,
    statuses,
    window_bounds,
)
from slaflow.settings import Settings
from slaflow.tickets import TargetKind, TicketView
from slaflow.tiers import Priority, Tier
from workflows.service_level_calls import (
    POST_SERVICE_LEVEL_SLACK,
    RECORD_SERVICE_LEVEL_CLOSING,
    SEND_SERVICE_LEVEL_EMAIL,
    SERVICE_LEVEL_STATUSES,
    AgreementServiceLevels,
    ClosingRecord,
    ClosingRecorded,
    NoticeReceipt,
    ServiceLevelNotice,
    ServiceLevelReport,
    StatusRequest,
)

log = logging.getLogger("slaflow.service_levels")

OpenBreaches = Callable[[str, datetime], Awaitable[list[MeasuredTicket]]]
"""(task queue, opened since) -> open tickets that breached a target."""

RECEIPT_OWNER = "service-levels"
"""What the notification store records in place of a ticket id."""


# ----- where tickets come from ------------------------------------------------------------------


def closed_tickets(
    engine: Engine, start: datetime, end: datetime, agreement_id: str = DEFAULT_AGREEMENT_ID
) -> list[MeasuredTicket]:
    """One agreement's measured tickets with facts (resolved or closed) opened in
    [start, end). A target counts as met when its time is recorded, missed when breached,
    undecided otherwise."""
    columns = (
        col(TicketFactRow.ticket_id),
        col(TicketFactRow.priority),
        col(TicketFactRow.opened_at),
        col(TicketFactRow.first_response_at),
        col(TicketFactRow.first_response_breached),
        col(TicketFactRow.resolved_at),
        col(TicketFactRow.resolution_breached),
    )
    query = select(*columns).where(
        col(TicketFactRow.opened_at) >= start,
        col(TicketFactRow.opened_at) < end,
        col(TicketFactRow.agreement_id) == agreement_id,
        col(TicketFactRow.measured),
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        MeasuredTicket(
            ticket_id=ticket_id,
            priority=Priority(priority),
            opened_at=opened_at,
            first_response_missed=_decided(first_response_breached, first_response_at),
            resolution_missed=_decided(resolution_breached, resolved_at),
        )
        for (
            ticket_id,
            priority,
            opened_at,
            first_response_at,
            first_response_breached,
            resolved_at,
            resolution_breached,
        ) in rows
    ]


def _decided(breached: bool, met_at: datetime | None) -> bool | None:
    if breached:
        return True
    return False if met_at is not None else None


def _missed(view: TicketView, kind: TargetKind) -> bool | None:
    target = next((t for t in view.targets if t.kind is kind), None)
    if target is None:
        return None
    if target.breached_at is not None or target.status in ("breached", "met_late"):
        return True
    return False if target.status == "met" else None


class VisibilityBreaches:
    """Open tickets that breached, from Temporal visibility and each ticket's `state` query."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def __call__(self, task_queue: str, since: datetime) -> list[MeasuredTicket]:
        # StartTime is a superset filter: a ticket opened in the window started in it (a ticket
        # continued-as-new restarts later); the opening time itself comes from its state.
        query = (
            "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running' "
            f"AND TaskQueue = '{task_queue}' AND SlaBreached = true "
            f"AND StartTime >= '{since.astimezone(UTC).isoformat().replace('+00:00', 'Z')}'"
        )
        found = []
        async for execution in self.client.list_workflows(query):
            handle = self.client.get_workflow_handle(execution.id)
            try:
                view = await handle.query("state", result_type=TicketView)
            except (WorkflowQueryFailedError, RPCError) as error:
                log.warning("skipping %s: its state query failed: %s", execution.id, error)
                continue
            if not view.measured:
                continue
            found.append(
                MeasuredTicket(
                    ticket_id=view.ticket_id,
                    priority=view.priority,
                    opened_at=view.opened_at,
                    agreement_id=view.agreement_id,
                    first_response_missed=_missed(view, TargetKind.FIRST_RESPONSE),
                    resolution_missed=_missed(view, TargetKind.RESOLUTION),
                )
            )
        return found


# ----- the report ---------------------------------------------------------------------------


def notified(
    engine: Engine, report: list[ObjectiveStatus], agreement_id: str = DEFAULT_AGREEMENT_ID
) -> dict[tuple[str, datetime], set[Threshold]]:
    """Thresholds already delivered by both media, per objective and window start."""
    done: dict[tuple[str, datetime], set[Threshold]] = {}
    for status in report:
        for threshold in THRESHOLDS:
            keys = [
                notice_key(status.objective, status.window, threshold, m, agreement_id)
                for m in ("email", "slack")
            ]
            if all(load_receipt(engine, key) is not None for key in keys):
                done.setdefault((status.objective, status.window.start), set()).add(threshold)
    return done


async def current_report(
    engine: Engine, open_breaches: OpenBreaches, task_queue: str, as_of: datetime
) -> ServiceLevelReport:
    """Every objective of every agreement's version in force at `as_of`, over its window
    containing it, counting that agreement's tickets only; the default agreement's on top."""
    held = await asyncio.to_thread(agreement_store.agreements, engine)
    parts: dict[str, AgreementServiceLevels] = {}
    live_cache: dict[datetime, list[MeasuredTicket]] = {}
    for row in held:
        try:
            part = await _agreement_report(
                engine, open_breaches, task_queue, as_of, row.id, live_cache
            )
        except agreement_store.NoAgreementError:
            continue  # no version in force yet
        parts[row.id] = part
    default = parts.pop(DEFAULT_AGREEMENT_ID, None) or AgreementServiceLevels(
        agreement_version=0, agreement_name="", statuses=[], management=[], management_channel=""
    )
    return ServiceLevelReport(**default.model_dump(), as_of=as_of, agreements=list(parts.values()))


async def _agreement_report(
    engine: Engine,
    open_breaches: OpenBreaches,
    task_queue: str,
    as_of: datetime,
    agreement_id: str,
    live_cache: dict[datetime, list[MeasuredTicket]],
) -> AgreementServiceLevels:
    row = await asyncio.to_thread(agreement_store.version_in_force, engine, as_of, agreement_id)
    agreement = agreement_store.agreement_of(row)
    objectives = agreement.service_levels
    management = agreement.escalation.policy(Tier.MANAGEMENT)
    part = AgreementServiceLevels(
        agreement_id=agreement_id,
        agreement_version=row.number,
        agreement_name=agreement.name,
        statuses=[],
        management=management.contacts,
        management_channel=management.slack_channel,
    )
    if not objectives:
        return part
    windows = [window_bounds(o.window, as_of) for o in objectives]
    windows += [previous_window(o.window, as_of) for o in objectives]
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    stored = await asyncio.to_thread(closed_tickets, engine, start, end, agreement_id)
    if start not in live_cache:  # one visibility sweep per window start, not per agreement
        live_cache[start] = await open_breaches(task_queue, start)
    live = [t for t in live_cache[start] if t.agreement_id == agreement_id]
    tickets = merge_tickets(stored, live)
    first = statuses(objectives, tickets, as_of)
    sent = await asyncio.to_thread(notified, engine, first, agreement_id)
    part.statuses = statuses(objectives, tickets, as_of, sent)
    closing = closing_statuses(objectives, tickets, as_of)
    sent = await asyncio.to_thread(notified, engine, closing, agreement_id)
    part.closing = closing_statuses(objectives, tickets, as_of, sent)
    part.open_breaches = len(live)
    return part


class ServiceLevelActivities:
    """Built in worker.py with the database engine and the visibility source."""

    def __init__(self, engine: Engine, open_breaches: OpenBreaches) -> None:
        self.engine = engine
        self.open_breaches = open_breaches

    @activity.defn(name=SERVICE_LEVEL_STATUSES)
    async def service_level_statuses(self, request: StatusRequest) -> ServiceLevelReport:
        try:
            return await current_report(
                self.engine, self.open_breaches, request.task_queue, request.as_of
            )
        except agreement_store.NoAgreementError as error:
            raise ApplicationError(str(error), type="NoAgreement", non_retryable=True) from error

    @activity.defn(name=RECORD_SERVICE_LEVEL_CLOSING)
    async def record_service_level_closing(self, record: ClosingRecord) -> ClosingRecorded:
        new = await asyncio.to_thread(
            record_closing, self.engine, record.agreement_id, record.closing, record.recorded_at
        )
        return ClosingRecorded(new=new)


# ----- the warnings ---------------------------------------------------------------------------


def objective_title(status: ObjectiveStatus) -> str:
    """ "P1 first responses: 95 % within target per month"."""
    scope = status.priority.value if status.priority else "All"
    what = "first responses" if status.target == "first_response" else "resolutions"
    return f"{scope} {what}: {status.percent:g} % within target per {status.window.kind}"


def _figures(status: ObjectiveStatus) -> list[tuple[str, str]]:
    figures = [
        ("Tickets measured", str(status.measured)),
        ("Targets missed", str(status.misses)),
        (
            "Compliance",
            "-" if status.compliance_percent is None else f"{status.compliance_percent:g} %",
        ),
        ("Misses allowed so far", f"{status.allowed_misses:g}"),
        (
            "Error budget spent",
            f"{status.spent_percent:g} % (warning at {status.warn_when_spent} %)",
        ),
        ("Misses left", f"{max(status.remaining_misses, 0):g}"),
    ]
    if status.projected_measured is not None:
        figures.append(
            (
                "At this rate by window end",
                f"{status.projected_measured} tickets, allowing "
                f"{status.projected_allowed_misses:g} misses",
            )
        )
    return figures


def _advice(notice: ServiceLevelNotice) -> str:
    status = notice.status
    if notice.threshold == "missed":
        return (
            f"The {status.window.kind} has ended below its objective: {status.misses} of "
            f"{status.measured} targets missed, {status.compliance_percent or 0:g} % within target "
            f"against {status.percent:g} %."
        )
    if notice.threshold == "exhausted":
        text = (
            f"The error budget of this window is spent: with {status.misses} of "
            f"{status.measured} targets missed, the objective is lost unless no further ticket "
            "misses and volume grows."
        )
    else:
        more = max(1, math.ceil(status.remaining_misses))
        text = f"{status.spent_percent:g} % of this window's error budget is spent; " + (
            "the next miss exhausts it." if more == 1 else f"{more} more misses exhaust it."
        )
    if status.low_volume:
        text += (
            f" Few tickets so far: below {min_volume(status.percent)}, the volume at which the "
            "objective allows one whole miss, a single miss spends the whole budget."
        )
    return text


_HEADLINES: dict[Threshold, str] = {
    "warning": "Error budget warning",
    "exhausted": "Error budget exhausted",
    "missed": "Objective missed",
}


def _context(settings: Settings, notice: ServiceLevelNotice) -> dict[str, Any]:
    window = notice.status.window
    return {
        "headline": _HEADLINES[notice.threshold],
        "objective_title": objective_title(notice.status),
        "agreement_name": notice.agreement_name,
        "status": notice.status,
        "spent": f"{notice.status.spent_percent:g}",
        "elapsed": f"{notice.status.elapsed_percent:g}",
        "threshold": notice.threshold,
        "window_from": f"{window.start:%Y-%m-%d %H:%M} UTC",
        "window_to": f"{window.end:%Y-%m-%d %H:%M} UTC",
        "figures": _figures(notice.status),
        "advice": _advice(notice),
        "link": f"{settings.public_url.rstrip('/')}/reports/service-levels",
    }


def render_service_level_email(settings: Settings, notice: ServiceLevelNotice) -> EmailMessage:
    templates = notify_email._templates
    context = _context(settings, notice)
    subject = templates.get_template("service_level_subject.txt.j2").render(context)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = settings.mail_from
    message["To"] = ", ".join(c.email for c in notice.to)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id_for(notice.idempotency_key, settings.mail_from)
    message["X-Slaflow-Service-Level"] = notice.status.objective
    message.set_content(templates.get_template("service_level_body.txt.j2").render(context))
    message.add_alternative(
        templates.get_template("service_level_body.html.j2").render(context), subtype="html"
    )
    return message


def render_service_level_slack(
    settings: Settings, notice: ServiceLevelNotice
) -> tuple[str, list[dict[str, Any]]]:
    context = _context(settings, notice)
    esc = notify_slack._esc
    mentions = " ".join(f"<@{c.slack_user_id}>" for c in notice.to if c.slack_user_id)
    headline = f"{context['headline']}: {context['objective_title']}, {notice.status.window.label}"
    text = esc(headline) + (f" {mentions}" if mentions else "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": notify_slack._cut(headline, 150)},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": esc(context["advice"]) + (f"\n{mentions}" if mentions else ""),
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{esc(label)}*\n{esc(value)}"}
                for label, value in context["figures"][:10]
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"slaflow · service levels · {notice.threshold} · "
                    f"<{context['link']}|all objectives>",
                }
            ],
        },
    ]
    return notify_slack._cut(text, 3000), blocks


class ServiceLevelNotifyActivities:
    """Built in worker.py around the ticket notification activities (same SMTP settings,
    Slack client and database engine)."""

    def __init__(self, email: EmailActivities, slack: SlackActivities) -> None:
        self.email = email
        self.slack = slack

    @activity.defn(name=SEND_SERVICE_LEVEL_EMAIL)
    async def send_service_level_email(self, notice: ServiceLevelNotice) -> NoticeReceipt:
        """One email to every management contact, or the earlier receipt if already sent."""
        return await deliver_once(
            self.email.engine,
            notice.idempotency_key,
            lambda stored: NoticeReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._send_email(notice),
        )

    async def _send_email(self, notice: ServiceLevelNotice) -> NoticeReceipt:
        engine, key = self.email.engine, notice.idempotency_key
        settings = self.email.settings
        message = render_service_level_email(settings, notice)
        recipients = [c.email for c in notice.to]
        sender = parseaddr(settings.mail_from)[1] or "slaflow@localhost"
        try:
            await self.email._send(message, sender, recipients)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise notify_email._classify(error, recipients) from error
        receipt = NoticeReceipt(
            idempotency_key=key, medium="email", detail=str(message["Message-ID"])
        )
        await asyncio.to_thread(
            store_receipt, engine, key, "email", RECEIPT_OWNER, receipt.model_dump(mode="json")
        )
        return receipt

    @activity.defn(name=POST_SERVICE_LEVEL_SLACK)
    async def post_service_level_slack(self, notice: ServiceLevelNotice) -> NoticeReceipt:
        """A post in the management channel, or the earlier receipt if already posted."""
        return await deliver_once(
            self.slack.engine,
            notice.idempotency_key,
            lambda stored: NoticeReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._post_slack(notice),
        )

    async def _post_slack(self, notice: ServiceLevelNotice) -> NoticeReceipt:
        engine, key, channel = self.slack.engine, notice.idempotency_key, notice.slack_channel
        if activity.info().attempt > 1:
            # An earlier attempt may have posted and died before recording it: Slack knows,
            # by the key in the message metadata (the ticket posts' look-up, reused).
            fields: dict[str, Any] = {"idempotency_key": key, "channel": channel, "thread_ts": None}
            lookup = SlackNotification.model_construct(**fields)
            found = await self.slack._already_posted(lookup)
            if found is not None:
                receipt = NoticeReceipt(
                    idempotency_key=key, medium="slack", detail=f"{found.channel} {found.ts}"
                )
                await asyncio.to_thread(
                    store_receipt,
                    engine,
                    key,
                    "slack",
                    RECEIPT_OWNER,
                    receipt.model_dump(mode="json"),
                )
                return receipt.model_copy(update={"duplicate": True})
        text, blocks = render_service_level_slack(self.slack.settings, notice)
        try:
            response = await self.slack.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                metadata={
                    "event_type": notify_slack.METADATA_EVENT,
                    "event_payload": {"idempotency_key": key},
                },
            )
        except SlackApiError as error:
            raise notify_slack._classify(error, channel) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApplicationError(
                f"Slack unreachable posting to {channel}: {type(error).__name__}: {error}",
                type="SlackUnavailable",
            ) from error
        receipt = NoticeReceipt(
            idempotency_key=key, medium="slack", detail=f"{response['channel']} {response['ts']}"
        )
        await asyncio.to_thread(
            store_receipt, engine, key, "slack", RECEIPT_OWNER, receipt.model_dump(mode="json")
        )
        return receipt
