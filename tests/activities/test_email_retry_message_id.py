"""A retry after a lost receipt (a worker killed between the SMTP server's acceptance and the
receipt row) sends the mail again with the same Message-ID, so mail systems that deduplicate
on it show one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

import activities.notify_email as notify_email
from activities.notify_email import EmailActivities
from slaflow.notifications import EmailNotification, mail_thread_root
from slaflow.settings import Settings
from slaflow.tickets import Notice, TicketView
from standins.mailbox import Mailbox


class Killed(Exception):
    """Stands for the worker dying before the receipt row is written."""


async def test_every_retry_carries_the_same_message_id(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: Callable[..., Settings],
    ticket: TicketView,
    notice: Notice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = EmailNotification(
        idempotency_key="ticket-T-1001/7/email",
        to=["lead@example.com"],
        notice=notice,
        ticket=ticket,
        thread_root_id=mail_thread_root(ticket.workflow_id),
    )
    store = notify_email.store_receipt
    lost = [True]

    def store_once_lost(*args: Any, **kwargs: Any) -> None:
        if lost.pop() if lost else False:
            raise Killed
        store(*args, **kwargs)

    monkeypatch.setattr(notify_email, "store_receipt", store_once_lost)
    activities = EmailActivities(settings_for(smtp_port=mailbox.port), engine)
    with pytest.raises(Killed):
        await ActivityEnvironment().run(activities.send_email, request)
    receipt = await ActivityEnvironment().run(activities.send_email, request)
    again = await ActivityEnvironment().run(activities.send_email, request)

    first, second = mailbox.messages()  # the window's one duplicate, and no more
    assert first["Message-ID"] == second["Message-ID"] == receipt.message_id
    assert again.duplicate and again.message_id == receipt.message_id
