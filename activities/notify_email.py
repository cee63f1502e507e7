"""The email notification activity: render a notice, send it over SMTP exactly once.

Exactly once, as far as SMTP allows: a `NotificationRow` keyed by the idempotency key is written
after the server accepts, and a retry that finds it sends nothing. A crash between acceptance and
the insert can still send twice; the Message-ID is derived from the key so such a duplicate is
recognisable (and dropped by many mail systems). No retry loop here: Temporal's RetryPolicy
retries, and errors are classified so only transient ones are retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import aiosmtplib
import jinja2
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deliveries import deliver_once, store_receipt
from slaflow.notifications import EmailNotification, EmailReceipt
from slaflow.settings import Settings
from slaflow.tickets import TargetView, TicketView
from slaflow.time_left import describe_time_left

__all__ = [
    "EmailActivities",
    "TargetLine",
    "describe_targets",
    "message_id_for",
    "ticket_link",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html")),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# ----- rendering (shared with the Slack activity) -----------------------------------------------


@dataclass(frozen=True)
class TargetLine:
    """One SLA target as people read it: its deadline and how much time is left."""

    label: str
    deadline: datetime | None
    due: str
    left: str


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _left(target: TargetView, now: datetime) -> str:
    if target.status == "met":
        return f"met at {_when(target.met_at)}" if target.met_at else "met"
    if target.status == "met_late":
        return f"met late at {_when(target.met_at)}" if target.met_at else "met late"
    if target.status == "paused" or target.deadline is None:
        return target.status
    return describe_time_left((_utc(target.deadline) - now).total_seconds())


def describe_targets(ticket: TicketView, now: datetime | None = None) -> list[TargetLine]:
    """Each target's deadline and the time left at sending (not at the snapshot: retries lag)."""
    now = now or datetime.now(UTC)
    return [
        TargetLine(
            label=target.kind.value.replace("_", " ").capitalize(),
            deadline=_utc(target.deadline) if target.deadline else None,
            due=_when(target.deadline) if target.deadline else "-",
            left=_left(target, now),
        )
        for target in ticket.targets
    ]


def ticket_link(settings: Settings, ticket_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/tickets/{ticket_id}"


def message_id_for(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one notification."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "slaflow"
    readable = re.sub(r"[^A-Za-z0-9.-]+", ".", idempotency_key).strip(".")[:64]
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    return f"<{readable}.{digest}@{domain}>"


def render_email(settings: Settings, request: EmailNotification) -> EmailMessage:
    """The multipart/alternative message (text and HTML) for one notice."""
    ticket, notice = request.ticket, request.notice
    context = {
        "ticket": ticket,
        "notice": notice,
        "channel": ticket.channel.value.replace("_", " "),
        "tier": ticket.tier.label,
        "notice_tier": notice.tier.label,
        "assignee": ticket.assignee or "unassigned",
        "targets": describe_targets(ticket),
        "link": ticket_link(settings, ticket.ticket_id),
    }
    subject = _templates.get_template("email_subject.txt.j2").render(context)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # one line, whatever the ticket's subject held
    message["From"] = settings.mail_from
    message["To"] = ", ".join(request.to)
    message["Date"] = format_datetime(datetime.now(UTC))  # RFC 5322 requires it
    message["Message-ID"] = message_id_for(request.idempotency_key, settings.mail_from)
    message["In-Reply-To"] = request.thread_root_id
    message["References"] = request.thread_root_id
    message["X-Slaflow-Ticket"] = ticket.ticket_id
    message["X-Slaflow-Notice"] = notice.kind.value
    message.set_content(_templates.get_template("email_body.txt.j2").render(context))
    message.add_alternative(
        _templates.get_template("email_body.html.j2").render(context), subtype="html"
    )
    return message


# ----- error classification ---------------------------------------------------------------------


def _classify(error: Exception, recipients: list[str]) -> ApplicationError:
    """Permanent SMTP failures stop retries; everything else is worth another attempt."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
        permanent = all(r.code >= 500 for r in error.recipients)
        return ApplicationError(
            f"SMTP server refused every recipient ({refused})",
            [r.recipient for r in error.recipients],
            type="SmtpRecipientsRefused",
            non_retryable=permanent,
        )
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return ApplicationError(
            f"SMTP login refused: {error.code} {error.message}",
            type="SmtpAuthenticationFailed",
            non_retryable=True,
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        permanent = error.code >= 500
        return ApplicationError(
            f"SMTP server answered {error.code} {error.message} sending to {', '.join(recipients)}",
            type="SmtpRejected" if permanent else "SmtpTemporaryFailure",
            non_retryable=permanent,
        )
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return ApplicationError(
            f"SMTP server lacks what the settings require: {error}",
            type="SmtpNotSupported",
            non_retryable=True,
        )
    return ApplicationError(
        f"SMTP server unreachable or failing ({type(error).__name__}: {error})",
        type="SmtpUnavailable",
    )


class EmailActivities:
    """Email delivery; built in worker.py with the settings and database engine injected.

    `tls_context` overrides certificate verification for STARTTLS/TLS (a private CA, or the
    self-signed certificate of a test server); by default the system trust store is used.
    """

    def __init__(
        self, settings: Settings, engine: Engine, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tls_context = tls_context

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailNotification) -> EmailReceipt:
        """Send one notice by email, or answer the earlier receipt if it was already sent."""
        return await deliver_once(
            self.engine,
            request.idempotency_key,
            lambda stored: EmailReceipt.model_validate({**stored, "duplicate": True}),
            lambda: self._deliver(request),
        )

    async def _deliver(self, request: EmailNotification) -> EmailReceipt:
        message = render_email(self.settings, request)
        sender = parseaddr(self.settings.mail_from)[1] or "slaflow@localhost"
        try:
            refused, _reply = await self._send(message, sender, request.to)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise _classify(error, request.to) from error

        accepted = [address for address in request.to if address not in refused]
        if refused:
            # Some recipients got it: retrying would send it to them again, so record and report.
            activity.logger.warning(
                "SMTP server refused some recipients of %s: %s",
                request.idempotency_key,
                "; ".join(f"{a}: {r.code} {r.message}" for a, r in refused.items()),
            )
        receipt = EmailReceipt(message_id=str(message["Message-ID"]), recipients=accepted)
        await asyncio.to_thread(
            store_receipt,
            self.engine,
            request.idempotency_key,
            "email",
            request.ticket.ticket_id,
            receipt.model_dump(mode="json"),
        )
        return receipt

    async def _send(
        self, message: EmailMessage, sender: str, recipients: list[str]
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        s = self.settings
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        return await aiosmtplib.send(
            message,
            sender=sender,
            recipients=recipients,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=password if s.smtp_username else None,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_starttls and not s.smtp_use_tls,
            timeout=s.smtp_timeout_seconds,
            tls_context=self.tls_context,
        )
