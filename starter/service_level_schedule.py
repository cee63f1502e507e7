"""The Temporal Schedule that starts ServiceLevelWatchWorkflow every few minutes.

Created by every worker at start (`worker.run_worker`), because workers are what every
deployment runs (production, compose and `slaflow run` alike), and idempotently: the first
worker creates it, later ones (and restarts with a new interval) update it in place, so there is
one schedule per task queue however many workers start. Temporal, not a worker's timer, keeps
the cadence: a run missed while every worker was down is started when one returns (within one
interval), and runs never overlap.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from slaflow.settings import Settings
from workflows.service_level_calls import WatchInput, schedule_id_for
from workflows.service_level_watch import ServiceLevelWatchWorkflow

RUN_TIMEOUT = timedelta(minutes=30)
"""A run that cannot finish in this time is cut off; the next one starts afresh."""


def service_level_schedule(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ServiceLevelWatchWorkflow.run,
            WatchInput(task_queue=task_queue),
            id=schedule_id_for(task_queue),  # Temporal appends each run's time
            task_queue=task_queue,
            execution_timeout=RUN_TIMEOUT,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
    )


async def ensure_service_level_schedule(client: Client, settings: Settings) -> str | None:
    """Create or update the schedule of `settings.task_queue`; returns its id. An interval of
    zero turns checking off: the schedule is deleted if it exists, and None returned."""
    schedule_id = schedule_id_for(settings.task_queue)
    every = settings.service_level_check_every
    if every <= timedelta(0):
        try:
            await client.get_schedule_handle(schedule_id).delete()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
        return None
    schedule = service_level_schedule(settings.task_queue, every)
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # Keep the state: an operator's pause (and its note) survives a worker restart.
            kept = dataclasses.replace(schedule, state=current.description.schedule.state)
            return ScheduleUpdate(schedule=kept)

        await client.get_schedule_handle(schedule_id).update(replace)
    return schedule_id
