"""The bare Temporal baseline: the least a workflow can do for each thing slaflow does.

Kept import-light (no slaflow imports) so the sandbox costs of the baseline are Temporal's own.

* `BareOpenWorkflow` stays open on one long timer, answers a `ready` update (intake's
  start + update round trip) and a trivial `state` query; it is what an open ticket costs
  Temporal with no domain in it.
* `BareDeadlineWorkflow` sleeps until a given instant, then runs one no-op activity that
  reports when it started: the floor under "deadline -> notification".
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow


@workflow.defn
class BareOpenWorkflow:
    @workflow.run
    async def run(self, sleep_seconds: float) -> None:
        await workflow.sleep(timedelta(seconds=sleep_seconds))

    @workflow.update(name="ready")
    def ready(self) -> str:
        return "ok"

    @workflow.query(name="state")
    def state(self) -> str:
        return "open"


@activity.defn(name="bare_noop")
async def bare_noop() -> float:
    """Does nothing but say when it started (epoch seconds, same host clock as the bench)."""
    return time.time()


@workflow.defn
class BareDeadlineWorkflow:
    @workflow.run
    async def run(self, due_epoch: float) -> float:
        wait = due_epoch - workflow.now().timestamp()
        if wait > 0:
            await workflow.sleep(timedelta(seconds=wait))
        started: float = await workflow.execute_activity(
            bare_noop, start_to_close_timeout=timedelta(seconds=60)
        )
        return started


BARE_WORKFLOWS: list[type] = [BareOpenWorkflow, BareDeadlineWorkflow]
BARE_ACTIVITIES = [bare_noop]
