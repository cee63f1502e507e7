"""Delivery attempts heartbeat while they run, so a lost attempt is retried within seconds.

A worker killed mid-delivery (kill -9) answers nothing: without heartbeats the server notices
only when the attempt's start-to-close timeout (a minute) runs out, and the ticket's later
Slack posts wait behind it. The workflows schedule deliveries with a short heartbeat timeout;
this interceptor heartbeats for them, whatever the call inside is waiting on (an SMTP
dialogue, a page of Slack history), so only a dead worker stops the heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from workflows import activity_calls, amendment_calls, service_level_calls

DELIVERIES = frozenset(
    {
        activity_calls.SEND_EMAIL,
        activity_calls.POST_SLACK,
        activity_calls.UPDATE_SLACK_ROOT,
        amendment_calls.SEND_AMENDMENT_EMAIL,
        amendment_calls.POST_AMENDMENT_SLACK,
        service_level_calls.SEND_SERVICE_LEVEL_EMAIL,
        service_level_calls.POST_SERVICE_LEVEL_SLACK,
    }
)
"""Activities that only send: they keep no heartbeat details of their own to overwrite."""


def heartbeat_interval(timeout: timedelta) -> float:
    """A third of the heartbeat timeout: two heartbeats may be late before the attempt is."""
    return max(timeout.total_seconds() / 3, 0.05)


@contextlib.asynccontextmanager
async def heartbeating(interval: float) -> AsyncIterator[None]:
    """Heartbeat every `interval` seconds until the block ends."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class DeliveryHeartbeatInterceptor(Interceptor):
    """Pass to `Worker(interceptors=[...])`."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeating(next)


class _Heartbeating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.activity_type not in DELIVERIES or not info.heartbeat_timeout:
            return await super().execute_activity(input)
        async with heartbeating(heartbeat_interval(info.heartbeat_timeout)):
            return await super().execute_activity(input)
