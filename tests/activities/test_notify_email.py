"""send_email against a real SMTP server on 127.0.0.1, through Temporal's ActivityEnvironment."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import aiosmtplib
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify_email import EmailActivities, _classify, message_id_for
from activities.tables import NotificationRow
from slaflow.notifications import EmailNotification, EmailReceipt, mail_thread_root
from slaflow.settings import Settings
from slaflow.tickets import Notice, TicketView
from standins.mailbox import Mailbox

KEY = "ticket-T-1001/3/email"
REFUSED = "nobody@example.com"  # the conftest mailbox answers 550 for it
SettingsFactory = Callable[..., Settings]


def _request(ticket: TicketView, notice: Notice, *to: str, key: str = KEY) -> EmailNotification:
    return EmailNotification(
        idempotency_key=key,
        to=list(to) or ["lead@example.com"],
        notice=notice,
        ticket=ticket,
        thread_root_id=mail_thread_root(ticket.workflow_id),
    )


async def _send(
    settings: Settings,
    engine: Engine,
    request: EmailNotification,
    tls_context: ssl.SSLContext | None = None,
) -> EmailReceipt:
    activities = EmailActivities(settings, engine, tls_context=tls_context)
    receipt: EmailReceipt = await ActivityEnvironment().run(activities.send_email, request)
    return receipt


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


async def test_multipart_message_with_thread_headers_arrives(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(smtp_port=mailbox.port)
    receipt = await _send(settings, engine, _request(ticket, notice))

    assert receipt.duplicate is False
    assert receipt.recipients == ["lead@example.com"]
    [message] = mailbox.messages()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == receipt.message_id == message_id_for(KEY, settings.mail_from)
    assert message["In-Reply-To"] == message["References"] == mail_thread_root(ticket.workflow_id)
    assert message["From"] == settings.mail_from
    assert message["To"] == "lead@example.com"
    sent_at = parsedate_to_datetime(message["Date"])  # RFC 5322 requires a Date
    assert sent_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=5)
    assert "Escalated to the team lead" in message["Subject"]
    assert "T-1001" in message["Subject"] and "P1" in message["Subject"]

    text, html = _parts(message)
    for expected in (
        "Escalated to the team lead",
        "First response target breached after 15m",
        "Acme <Widgets> & Co",
        "Checkout returns 500",
        "portal",
        "team lead",
        "unassigned",
        "overdue by",
        "left",
        "http://slaflow.test/tickets/T-1001",
        "acknowledging stops the paging;\r\nonly Responded meets the first-response target",
    ):
        assert expected in text, expected
    assert "Acme &lt;Widgets&gt; &amp; Co" in html  # autoescaped
    assert "Acme <Widgets>" not in html
    assert 'href="http://slaflow.test/tickets/T-1001"' in html
    assert "UTC" in text and "UTC" in html

    with Session(engine) as session:
        row = session.get(NotificationRow, KEY)
    assert row is not None and row.channel == "email" and row.ticket_id == "T-1001"


async def test_second_attempt_with_same_key_sends_nothing(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(smtp_port=mailbox.port)
    first = await _send(settings, engine, _request(ticket, notice))
    again = await _send(settings, engine, _request(ticket, notice))
    other = await _send(settings, engine, _request(ticket, notice, key=KEY + "-next"))

    assert again.duplicate is True
    assert again.message_id == first.message_id and again.recipients == first.recipients
    assert other.duplicate is False and other.message_id != first.message_id
    assert len(mailbox.messages()) == 2
    assert len(list(mailbox.directory.glob("*.eml"))) == 2


async def test_refused_recipient_is_not_retryable(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(smtp_port=mailbox.port)
    with pytest.raises(ApplicationError) as caught:
        await _send(settings, engine, _request(ticket, notice, REFUSED))

    assert caught.value.non_retryable is True
    assert caught.value.type == "SmtpRecipientsRefused"
    assert REFUSED in caught.value.message and "550" in caught.value.message
    assert mailbox.messages() == []
    with Session(engine) as session:
        assert session.get(NotificationRow, KEY) is None


async def test_partly_refused_is_delivered_to_the_rest_and_recorded(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: SettingsFactory,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(smtp_port=mailbox.port)
    request = _request(ticket, notice, "lead@example.com", REFUSED)
    receipt = await _send(settings, engine, request)

    assert receipt.recipients == ["lead@example.com"]
    [message] = mailbox.messages()
    assert message["X-RcptTo"] == "lead@example.com"
    assert (await _send(settings, engine, request)).duplicate is True


async def test_unreachable_server_is_retryable(
    engine: Engine,
    settings_for: SettingsFactory,
    closed_port: int,
    ticket: TicketView,
    notice: Notice,
) -> None:
    settings = settings_for(smtp_port=closed_port, smtp_timeout_seconds=5)
    with pytest.raises(ApplicationError) as caught:
        await _send(settings, engine, _request(ticket, notice))
    assert caught.value.non_retryable is False
    assert caught.value.type == "SmtpUnavailable"


def test_temporary_smtp_answers_are_retryable_permanent_ones_not() -> None:
    recipients = ["lead@example.com"]
    temporary = _classify(aiosmtplib.SMTPDataError(451, "try again later"), recipients)
    permanent = _classify(aiosmtplib.SMTPDataError(554, "message rejected"), recipients)
    greylisted = _classify(
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(450, "greylisted", "lead@example.com")]
        ),
        recipients,
    )
    assert temporary.non_retryable is False and "451" in temporary.message
    assert permanent.non_retryable is True and "554" in permanent.message
    assert greylisted.non_retryable is False


async def test_starttls_and_login_with_self_signed_certificate(
    tmp_path: Path,
    engine: Engine,
    settings_for: SettingsFactory,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    ticket: TicketView,
    notice: Notice,
) -> None:
    mailbox = Mailbox(
        tmp_path / "tls-mail", port=0, auth=("slaflow", "s3cret"), tls_context=server_tls
    )
    with mailbox:
        good = settings_for(
            smtp_port=mailbox.port,
            smtp_starttls=True,
            smtp_username="slaflow",
            smtp_password="s3cret",
            smtp_timeout_seconds=10,
        )
        receipt = await _send(good, engine, _request(ticket, notice), tls_context=client_tls)
        assert receipt.duplicate is False
        assert len(mailbox.messages()) == 1

        bad = good.model_copy(update={"smtp_password": SecretStr("wrong")})
        with pytest.raises(ApplicationError) as caught:
            await _send(bad, engine, _request(ticket, notice, key=KEY + "-bad"), client_tls)
        assert caught.value.non_retryable is True
        assert caught.value.type == "SmtpAuthenticationFailed"
        assert "535" in caught.value.message
        assert len(mailbox.messages()) == 1


async def test_unauthenticated_send_to_auth_server_is_refused(
    tmp_path: Path,
    engine: Engine,
    settings_for: SettingsFactory,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    ticket: TicketView,
    notice: Notice,
) -> None:
    with Mailbox(tmp_path / "m", port=0, auth=("u", "p"), tls_context=server_tls) as mailbox:
        settings = settings_for(smtp_port=mailbox.port, smtp_starttls=True)
        with pytest.raises(ApplicationError) as caught:
            await _send(settings, engine, _request(ticket, notice), client_tls)
        assert caught.value.non_retryable is True  # 530 authentication required
        assert mailbox.messages() == []
