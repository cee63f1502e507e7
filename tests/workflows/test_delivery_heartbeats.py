"""Delivery attempts heartbeat, so one lost with its worker is retried within seconds
(the hardening issue: a kill -9 mid-post delayed the ticket's later notices by a minute)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.testing import ActivityEnvironment

from activities.heartbeat import DELIVERIES, heartbeat_interval, heartbeating
from tests.workflows.test_ticket_workflow import Harness, harness  # noqa: F401 (fixture)
from workflows.activity_calls import NOTIFY_HEARTBEAT, POST_SLACK, SEND_EMAIL


async def test_deliveries_are_scheduled_with_a_heartbeat_timeout_of_seconds(
    harness: Harness,  # noqa: F811 (the fixture)
) -> None:
    handle = await harness.open()
    await harness.env.sleep(timedelta(minutes=6))  # the page and one escalation
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    deliveries = [a for a in scheduled if a.activity_type.name in DELIVERIES]
    assert {a.activity_type.name for a in deliveries} >= {SEND_EMAIL, POST_SLACK}
    for attributes in deliveries:
        assert attributes.heartbeat_timeout.ToTimedelta() == NOTIFY_HEARTBEAT
    assert timedelta(seconds=10) >= NOTIFY_HEARTBEAT


async def test_a_delivery_heartbeats_while_its_call_waits() -> None:
    """The call never returns on its own: only heartbeats (sent while it waits) end it."""
    env = ActivityEnvironment()
    beats: list[object] = []
    enough = asyncio.Event()

    def on_heartbeat(*details: object) -> None:
        beats.append(details)
        if len(beats) >= 3:
            enough.set()

    env.on_heartbeat = on_heartbeat

    async def slow_call() -> str:
        async with heartbeating(heartbeat_interval(timedelta(milliseconds=150))):
            await enough.wait()
        return "sent"

    assert await env.run(slow_call) == "sent"
    assert len(beats) >= 3


def test_the_interval_leaves_room_for_late_heartbeats() -> None:
    assert heartbeat_interval(NOTIFY_HEARTBEAT) < NOTIFY_HEARTBEAT.total_seconds() / 2
