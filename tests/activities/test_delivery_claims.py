"""One live attempt per notification. A retry started while an earlier attempt of the same
notification still runs (its heartbeats were late on a loaded worker, so the server gave it up)
must not send a second copy; an attempt cancelled mid-send still records what it sent; a claim
left by a dead worker lapses with its lease."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.deliveries import claim, load_receipt, release
from activities.notify_email import EmailActivities
from slaflow.notifications import EmailNotification, mail_thread_root
from slaflow.settings import Settings
from slaflow.tickets import Notice, TicketView
from standins.mailbox import Mailbox

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def test_a_live_claim_keeps_others_out_until_it_lapses(engine: Engine) -> None:
    assert claim(engine, "k", "run/1/1", NOW, LEASE) is None
    assert claim(engine, "k", "run/1/2", NOW + timedelta(seconds=5), LEASE) == NOW + LEASE
    assert claim(engine, "k", "run/1/1", NOW + timedelta(seconds=5), LEASE) is None  # its own
    lapsed = NOW + timedelta(seconds=5) + LEASE
    assert claim(engine, "k", "run/1/2", lapsed, LEASE) is None  # a dead holder's claim lapsed
    release(engine, "k", "run/1/1")  # the old holder's release leaves the new claim alone
    assert claim(engine, "k", "run/1/3", lapsed, LEASE) == lapsed + LEASE
    release(engine, "k", "run/1/2")
    assert claim(engine, "k", "run/1/3", lapsed, LEASE) is None
    assert claim(engine, "other", "run/2/1", lapsed, LEASE) is None  # keys are independent


def _environment(attempt: int) -> ActivityEnvironment:
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, attempt=attempt)
    return environment


@pytest.fixture
def request_(ticket: TicketView, notice: Notice) -> EmailNotification:
    return EmailNotification(
        idempotency_key="ticket-T-1001/9/email",
        to=["lead@example.com"],
        notice=notice,
        ticket=ticket,
        thread_root_id=mail_thread_root(ticket.workflow_id),
    )


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """SMTP answers only once the event is set: the first attempt is slow."""
    gate = asyncio.Event()
    send = EmailActivities._send

    async def slow(self: EmailActivities, message: EmailMessage, *args: Any) -> Any:
        await gate.wait()
        return await send(self, message, *args)

    monkeypatch.setattr(EmailActivities, "_send", slow)
    return gate


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def test_a_retry_beside_a_slow_attempt_sends_nothing_and_comes_back(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: Callable[..., Settings],
    request_: EmailNotification,
    held: asyncio.Event,
) -> None:
    activities = EmailActivities(settings_for(smtp_port=mailbox.port), engine)
    first = asyncio.create_task(_environment(1).run(activities.send_email, request_))
    await asyncio.sleep(0.2)  # the first attempt holds the claim and waits on SMTP

    with pytest.raises(ApplicationError) as refused:
        await _environment(2).run(activities.send_email, request_)
    assert refused.value.type == "DeliveryInProgress" and not refused.value.non_retryable
    delay = refused.value.next_retry_delay
    assert delay is not None and timedelta(seconds=1) <= delay <= timedelta(seconds=5)

    held.set()
    receipt = await first
    again = await _environment(3).run(activities.send_email, request_)
    assert again.duplicate and again.message_id == receipt.message_id
    assert len(mailbox.messages()) == 1


async def test_an_attempt_cancelled_mid_send_still_records_what_it_sent(
    mailbox: Mailbox,
    engine: Engine,
    settings_for: Callable[..., Settings],
    request_: EmailNotification,
    held: asyncio.Event,
) -> None:
    activities = EmailActivities(settings_for(smtp_port=mailbox.port), engine)
    environment = _environment(1)
    first = asyncio.create_task(environment.run(activities.send_email, request_))
    await asyncio.sleep(0.2)
    environment.cancel()  # as the SDK does when the server has timed the attempt out
    with pytest.raises(BaseException):  # noqa: B017 (cancellation surfaces as it may)
        await first
    held.set()  # ... but SMTP accepts the message after all
    await _until(lambda: load_receipt(engine, request_.idempotency_key) is not None)

    retry = await _environment(2).run(activities.send_email, request_)
    assert retry.duplicate
    assert len(mailbox.messages()) == 1
