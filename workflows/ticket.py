"""TicketWorkflow: one durable workflow per ticket, enforcing its SLA until it closes.

The workflow is a thin shell around `slaflow.ticket_machine`: one clock loop asks the machine
for the next due moment, sleeps until then or until a command wakes it, and acts. Commands are
updates whose validators refuse what the machine refuses. Notifications run as background tasks
so a slow mail server never delays the clock; they are awaited before the workflow ends or
continues as new.

Each tier's first Slack post starts its thread: that root message is rewritten (`chat.update`)
after every change, so each channel the ticket reached shows its status, tier, owner, clocks
and the buttons that still apply (behind the `slack-root-message-updates` patch, so tickets
started before it replay unchanged).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from slaflow import search_attributes as attrs
    from slaflow import ticket_machine as machine
    from slaflow.customers import DEFAULT_AGREEMENT_ID
    from slaflow.notifications import (
        EmailNotification,
        EmailReceipt,
        SlackNotification,
        SlackReceipt,
        SlackRootUpdate,
        mail_thread_root,
    )
    from slaflow.tickets import (
        Acknowledge,
        AddComment,
        AdoptTerms,
        Assign,
        ChangePriority,
        Command,
        CustomerMessage,
        Escalate,
        EventKind,
        Notice,
        Pause,
        PinnedTerms,
        Reopen,
        Reply,
        Resolve,
        Respond,
        Resume,
        SlackThread,
        Snapshot,
        TicketExplanation,
        TicketInput,
        TicketOutcome,
        TicketRuntime,
        TicketStatus,
        TicketView,
        TicketWorkflowInput,
    )
    from slaflow.tiers import Tier

    from workflows import activity_calls as calls

MIN_WAIT = timedelta(milliseconds=1)
ROOT_UPDATES_PATCH = "slack-root-message-updates"
"""Tickets started before root messages were updated in place replay without the updates."""
LOCAL_PIN_PATCH = "pin-terms-local-activity"
"""A new ticket pins its terms in a local activity: a short database read on the intake path
should not queue behind notifications on the activity task queue. Tickets opened before
replay their pin as the ordinary activity it was."""
FACTS_ON_CHANGE_PATCH = "record-facts-on-breach-and-reopen"
"""Facts are written when a target breaches and when the ticket reopens too, so reports see
open breaches and count a reopened ticket as it is now. Tickets started before replay without
those writes."""
REPLY_CLOCKS_PATCH = "next-reply-and-periodic-update-clocks"
"""Marks histories whose tickets took customer messages and replies (the next-reply and
periodic-update clocks). Tickets pinned before cannot carry those targets, so their clock
loop is unchanged; the marker names the path in the history for whoever reads it."""
RECENT_EVENTS_SHOWN = 3
_QUIET_EVENTS = (EventKind.NOTIFIED, EventKind.NOTIFICATION_FAILED)


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, input: TicketWorkflowInput) -> None:
        self._input = input
        self._rt: TicketRuntime | None = input.carried
        self._changed = False
        self._deliveries: set[asyncio.Task[None]] = set()
        self._slack_lock = asyncio.Lock()
        self._attributes: tuple[object, ...] = ()
        self._root_updates: bool | None = None
        self._facts_on_change: bool | None = None
        self._facts_lock = asyncio.Lock()
        """Facts writes in order: a breach's write must not land after the resolution's."""
        self._root_refresh_queued = False
        self._root_shown: dict[Tier, str] = {}
        """What each tier's root message shows now (a `_card` value), so unchanged roots are
        left alone; empty after continue-as-new, which costs one redundant update at most."""
        self._root_gone: set[Tier] = set()
        """Roots Slack refused to update for good (deleted, not ours): not tried again."""

    # ----- the clock loop ----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: TicketWorkflowInput) -> TicketOutcome:
        rt = self._rt or await self._open(input.ticket)
        while rt.status is not TicketStatus.CLOSED:
            now = workflow.now()
            with _in_range():
                due = machine.next_due(rt, now)
                if due is not None and due.at <= now:
                    breaches = _breaches(rt)
                    self._after_change(machine.apply_due(rt, due, now))
                    if _breaches(rt) != breaches and self._records_changes():
                        self._background(self._record_facts())
                    continue
            if self._history_full():
                await self._drain()
                workflow.continue_as_new(
                    TicketWorkflowInput(
                        ticket=input.ticket,
                        selection=input.selection,
                        carried=rt,
                        history_limit=input.history_limit,
                    )
                )
            self._changed = False
            timeout = max(due.at - now, MIN_WAIT) if due is not None else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed, timeout=timeout, timeout_summary="next SLA moment"
                )
        await self._record_facts()
        await self._drain()
        return TicketOutcome(facts=machine.facts(rt))

    async def _open(self, ticket: TicketInput) -> TicketRuntime:
        opened_at = ticket.opened_at or workflow.now()
        selection = self._input.selection
        request = calls.PinRequest(
            opened_at=opened_at,
            agreement_id=selection.agreement_id if selection else DEFAULT_AGREEMENT_ID,
        )
        if workflow.patched(LOCAL_PIN_PATCH):
            terms = await workflow.execute_local_activity(
                calls.PIN_TERMS,
                request,
                result_type=PinnedTerms,
                start_to_close_timeout=calls.STORE_TIMEOUT,
                retry_policy=calls.STORE_RETRY,
            )
        else:
            terms = await workflow.execute_activity(
                calls.PIN_TERMS,
                request,
                result_type=PinnedTerms,
                start_to_close_timeout=calls.STORE_TIMEOUT,
                retry_policy=calls.STORE_RETRY,
            )
        with _in_range():
            rt, notices = machine.open_ticket(ticket, terms, opened_at, workflow.now(), selection)
        self._rt = rt
        self._after_change(notices)
        return rt

    def _history_full(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= (
            self._input.history_limit
        )

    async def _drain(self) -> None:
        """Let notifications and update handlers finish before the run ends."""
        await workflow.wait_condition(
            lambda: not self._deliveries and workflow.all_handlers_finished()
        )

    def _after_change(self, notices: list[Notice]) -> None:
        self._changed = True
        self._upsert_attributes()
        for notice in notices:
            self._dispatch(notice)
        if self._updates_roots():
            self._queue_root_refresh()

    def _updates_roots(self) -> bool:
        if self._root_updates is None:
            self._root_updates = workflow.patched(ROOT_UPDATES_PATCH)
        return self._root_updates

    def _records_changes(self) -> bool:
        if self._facts_on_change is None:
            self._facts_on_change = workflow.patched(FACTS_ON_CHANGE_PATCH)
        return self._facts_on_change

    def _upsert_attributes(self) -> None:
        rt = self._state()
        current = (rt.priority, rt.tier, rt.status, rt.breached)
        if current == self._attributes:
            return
        self._attributes = current
        updates: list[SearchAttributeUpdate[Any]] = [
            attrs.PRIORITY.value_set(rt.priority.value),
            attrs.TIER.value_set(rt.tier.value),
            attrs.STATUS.value_set(rt.status.value),
            attrs.BREACHED.value_set(rt.breached),
            attrs.CUSTOMER.value_set(rt.ticket.customer),
        ]
        if self._input.selection is not None:  # tickets from before keep their old attributes
            updates += [
                attrs.AGREEMENT.value_set(rt.terms.agreement_id),
                attrs.MEASURED.value_set(rt.unmeasured is None),
            ]
        workflow.upsert_search_attributes(updates)

    def _state(self) -> TicketRuntime:
        if self._rt is None:
            raise ApplicationError("ticket has not pinned its terms yet", type="NotReady")
        return self._rt

    # ----- notifications -----------------------------------------------------------------------

    def _dispatch(self, notice: Notice) -> None:
        rt = self._state()
        rt.notice_seq += 1
        key = f"{workflow.info().workflow_id}/{rt.notice_seq}"
        ticket = machine.view(rt, workflow.now()).model_copy(update={"events": []})
        self._background(self._deliver(notice, key, ticket, self._card()))

    async def _deliver(self, notice: Notice, key: str, ticket: TicketView, card: str) -> None:
        jobs = [self._post_slack(notice, key, ticket, card)]
        if notice.email and notice.recipients:
            jobs.append(self._send_email(notice, key, ticket))
        await asyncio.gather(*jobs)

    async def _send_email(self, notice: Notice, key: str, ticket: TicketView) -> None:
        to = [c.email for c in notice.recipients]
        what = f"email {notice.kind} to {', '.join(to)}"
        try:
            await workflow.execute_activity(
                calls.SEND_EMAIL,
                EmailNotification(
                    idempotency_key=f"{key}/email",
                    to=to,
                    notice=notice,
                    ticket=ticket,
                    thread_root_id=mail_thread_root(workflow.info().workflow_id),
                ),
                result_type=EmailReceipt,
                start_to_close_timeout=calls.NOTIFY_TIMEOUT,
                heartbeat_timeout=calls.NOTIFY_HEARTBEAT,
                schedule_to_close_timeout=calls.NOTIFY_DEADLINE,
                retry_policy=calls.NOTIFY_RETRY,
            )
        except ActivityError as err:
            self._note_delivery(False, f"{what}: {_cause(err)}", notice.tier)
        else:
            self._note_delivery(True, what, notice.tier)

    async def _post_slack(self, notice: Notice, key: str, ticket: TicketView, card: str) -> None:
        """The notice in its tier's thread, and a line in the threads of tiers kept informed.
        Posts of one ticket go one at a time so each tier's first post becomes its thread.
        `card` is what the ticket looked like when the notice was decided: a new root shows
        that, and is brought up to date at once if the ticket has moved on since."""
        rt = self._state()
        matrix = rt.terms.agreement.escalation
        async with self._slack_lock:
            tiers = [notice.tier, *(t for t in notice.inform_tiers if t in rt.slack_threads)]
            for tier in dict.fromkeys(tiers):
                thread = rt.slack_threads.get(tier)
                name = matrix.policy(tier).slack_channel
                channel = thread.channel if thread else name
                what = f"slack {notice.kind} to {name}"  # the name people know, not Slack's id
                try:
                    receipt = await workflow.execute_activity(
                        calls.POST_SLACK,
                        SlackNotification(
                            idempotency_key=f"{key}/slack/{tier.value}",
                            channel=channel,
                            thread_ts=thread.ts if thread else None,
                            notice=notice,
                            ticket=ticket,
                        ),
                        result_type=SlackReceipt,
                        start_to_close_timeout=calls.NOTIFY_TIMEOUT,
                        heartbeat_timeout=calls.NOTIFY_HEARTBEAT,
                        schedule_to_close_timeout=calls.NOTIFY_DEADLINE,
                        retry_policy=calls.NOTIFY_RETRY,
                    )
                except ActivityError as err:
                    self._note_delivery(False, f"{what}: {_cause(err)}", tier)
                    continue
                if thread is None:
                    rt.slack_threads[tier] = SlackThread(channel=receipt.channel, ts=receipt.ts)
                    self._root_shown[tier] = card
                    if card != self._card() and self._updates_roots():
                        self._queue_root_refresh()
                self._note_delivery(True, what, tier)

    # ----- the root messages, updated in place ---------------------------------------------------

    def _card(self) -> str:
        """Everything a root message shows, as one comparable value (reminders and the
        time-left figures aside: Slack renders deadlines itself)."""
        rt = self._state()
        return "|".join(
            [
                rt.status.value,
                rt.priority.value,
                rt.assignee or "",
                rt.page.model_dump_json(exclude={"last_reminder_at", "paged_at"}),
                *(t.model_dump_json() for t in rt.targets),
            ]
        )

    def _queue_root_refresh(self) -> None:
        """One refresh waiting at a time: it renders the state when it runs, so changes
        made while it waits are shown by it."""
        if not self._root_refresh_queued:
            self._root_refresh_queued = True
            self._background(self._refresh_roots())

    async def _refresh_roots(self) -> None:
        """Rewrite every root message that shows an older state. After the Slack posts
        queued before it (same lock), so a new tier's root exists before it is refreshed."""
        async with self._slack_lock:
            self._root_refresh_queued = False
            rt = self._state()
            card = self._card()
            stale = [
                tier
                for tier in rt.slack_threads
                if tier not in self._root_gone and self._root_shown.get(tier) != card
            ]
            if not stale:
                return
            rt.notice_seq += 1
            key = f"{workflow.info().workflow_id}/{rt.notice_seq}"
            view = machine.view(rt, workflow.now())
            recent = [e for e in view.events if e.kind not in _QUIET_EVENTS]
            ticket = view.model_copy(update={"events": recent[-RECENT_EVENTS_SHOWN:]})
            for tier in stale:
                thread = rt.slack_threads[tier]
                try:
                    await workflow.execute_activity(
                        calls.UPDATE_SLACK_ROOT,
                        SlackRootUpdate(
                            idempotency_key=f"{key}/slack-root/{tier.value}",
                            channel=thread.channel,
                            ts=thread.ts,
                            tier=tier,
                            ticket=ticket,
                            paged=rt.page.contacts,
                            warnings_sent={t.kind: t.warnings_fired for t in rt.targets},
                        ),
                        result_type=SlackReceipt,
                        start_to_close_timeout=calls.NOTIFY_TIMEOUT,
                        heartbeat_timeout=calls.NOTIFY_HEARTBEAT,
                        schedule_to_close_timeout=calls.NOTIFY_DEADLINE,
                        retry_policy=calls.NOTIFY_RETRY,
                    )
                except ActivityError as err:
                    name = rt.terms.agreement.escalation.policy(tier).slack_channel
                    what = f"slack root message update in {name}: {_cause(err)}"
                    self._note_delivery(False, what, tier)
                    if _permanent(err):
                        self._root_gone.add(tier)
                    continue
                self._root_shown[tier] = card

    def _note_delivery(self, ok: bool, detail: str, tier: Tier) -> None:
        machine.record_notification(self._state(), workflow.now(), ok, detail, tier)

    async def _record_facts(self) -> None:
        if not self._records_changes():
            await self._write_facts()
            return
        async with self._facts_lock:  # the facts as they are when the previous write is done
            await self._write_facts()

    async def _write_facts(self) -> None:
        await workflow.execute_activity(
            calls.RECORD_TICKET_FACTS,
            machine.facts(self._state()),
            result_type=calls.FactsRecorded,
            start_to_close_timeout=calls.STORE_TIMEOUT,
            retry_policy=calls.STORE_RETRY,
        )

    # ----- commands ----------------------------------------------------------------------------

    def _refuse(self, name: str, command: Command) -> None:
        if self._rt is not None:
            reason = machine.refusal(self._rt, name, command)
            if reason:
                raise ApplicationError(reason, type="CommandRefused", non_retryable=True)

    async def _command(self, name: str, command: Command) -> TicketView:
        await workflow.wait_condition(lambda: self._rt is not None)
        self._refuse(name, command)  # again: state may have moved while waiting
        rt = self._state()
        with _in_range():
            self._after_change(machine.apply_command(rt, name, command, workflow.now()))
        resolved = rt.status is TicketStatus.RESOLVED and name == "resolve"
        if resolved or (name == "reopen" and self._records_changes()):
            self._background(self._record_facts())
        return machine.view(rt, workflow.now())

    def _background(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    @workflow.update(name="acknowledge")
    async def acknowledge(self, command: Acknowledge) -> TicketView:
        return await self._command("acknowledge", command)

    @acknowledge.validator
    def _check_acknowledge(self, command: Acknowledge) -> None:
        self._refuse("acknowledge", command)

    @workflow.update(name="assign")
    async def assign(self, command: Assign) -> TicketView:
        return await self._command("assign", command)

    @assign.validator
    def _check_assign(self, command: Assign) -> None:
        self._refuse("assign", command)

    @workflow.update(name="respond")
    async def respond(self, command: Respond) -> TicketView:
        return await self._command("respond", command)

    @respond.validator
    def _check_respond(self, command: Respond) -> None:
        self._refuse("respond", command)

    @workflow.update(name="resolve")
    async def resolve(self, command: Resolve) -> TicketView:
        return await self._command("resolve", command)

    @resolve.validator
    def _check_resolve(self, command: Resolve) -> None:
        self._refuse("resolve", command)

    @workflow.update(name="reopen")
    async def reopen(self, command: Reopen) -> TicketView:
        return await self._command("reopen", command)

    @reopen.validator
    def _check_reopen(self, command: Reopen) -> None:
        self._refuse("reopen", command)

    @workflow.update(name="change_priority")
    async def change_priority(self, command: ChangePriority) -> TicketView:
        return await self._command("change_priority", command)

    @change_priority.validator
    def _check_change_priority(self, command: ChangePriority) -> None:
        self._refuse("change_priority", command)

    @workflow.update(name="escalate")
    async def escalate(self, command: Escalate) -> TicketView:
        return await self._command("escalate", command)

    @escalate.validator
    def _check_escalate(self, command: Escalate) -> None:
        self._refuse("escalate", command)

    @workflow.update(name="comment")
    async def comment(self, command: AddComment) -> TicketView:
        return await self._command("comment", command)

    @comment.validator
    def _check_comment(self, command: AddComment) -> None:
        self._refuse("comment", command)

    @workflow.update(name="pause")
    async def pause(self, command: Pause) -> TicketView:
        return await self._command("pause", command)

    @pause.validator
    def _check_pause(self, command: Pause) -> None:
        self._refuse("pause", command)

    @workflow.update(name="resume")
    async def resume(self, command: Resume) -> TicketView:
        return await self._command("resume", command)

    @resume.validator
    def _check_resume(self, command: Resume) -> None:
        self._refuse("resume", command)

    @workflow.update(name="customer_message")
    async def customer_message(self, command: CustomerMessage) -> TicketView:
        workflow.patched(REPLY_CLOCKS_PATCH)
        return await self._command("customer_message", command)

    @customer_message.validator
    def _check_customer_message(self, command: CustomerMessage) -> None:
        self._refuse("customer_message", command)

    @workflow.update(name="reply")
    async def reply(self, command: Reply) -> TicketView:
        workflow.patched(REPLY_CLOCKS_PATCH)
        return await self._command("reply", command)

    @reply.validator
    def _check_reply(self, command: Reply) -> None:
        self._refuse("reply", command)

    @workflow.update(name="adopt_terms")
    async def adopt_terms(self, command: AdoptTerms) -> TicketView:
        """Move to a newer agreement version (an amendment that moves open tickets)."""
        await workflow.wait_condition(lambda: self._rt is not None)
        self._refuse("adopt_terms", command)
        rt = self._state()
        terms = await workflow.execute_activity(
            calls.PIN_TERMS,
            calls.PinRequest(
                opened_at=rt.opened_at,
                agreement_id=rt.terms.agreement_id,
                version=command.agreement_version,
            ),
            result_type=PinnedTerms,
            start_to_close_timeout=calls.STORE_TIMEOUT,
            retry_policy=calls.STORE_RETRY,
        )
        self._refuse("adopt_terms", command)  # again: the ticket may have moved meanwhile
        with _in_range():
            self._after_change([machine.adopt_terms(rt, terms, command.actor, workflow.now())])
        return machine.view(rt, workflow.now())

    @adopt_terms.validator
    def _check_adopt_terms(self, command: AdoptTerms) -> None:
        self._refuse("adopt_terms", command)

    @workflow.update(name="snapshot")
    async def snapshot(self, _: Snapshot) -> TicketView:
        """Answers once the ticket has pinned its terms: intake returns this to the caller."""
        await workflow.wait_condition(lambda: self._rt is not None)
        return machine.view(self._state(), workflow.now())

    @workflow.query(name="state")
    def state(self, at: datetime | None = None) -> TicketView:
        """Live state. Callers pass their current time, since between workflow tasks
        `workflow.now()` stands still and time left on each clock would look frozen."""
        return machine.view(self._state(), at or workflow.now())

    @workflow.query(name="explain")
    def explain(self, at: datetime | None = None) -> TicketExplanation:
        """Each deadline with the calendar, working spans and pauses that produced it."""
        return machine.explain(self._state(), at or workflow.now())


def _breaches(rt: TicketRuntime) -> tuple[bool, ...]:
    """Which targets have breached: a change means the facts must be written."""
    return tuple(t.breached_at is not None for t in rt.targets)


@contextlib.contextmanager
def _in_range() -> Iterator[None]:
    """Date arithmetic past the year 9999 (an opening the edge would refuse, sent around it)
    fails the ticket with a reason instead of failing its workflow task forever, which
    would leave it stuck and every view that asks it erroring."""
    try:
        yield
    except OverflowError as exc:
        raise ApplicationError(
            f"the ticket's dates are out of range: {exc}", type="OutOfRange", non_retryable=True
        ) from exc


def _permanent(err: ActivityError) -> bool:
    """Whether the activity gave up for good (non-retryable), not merely ran out of time."""
    cause = err.cause
    return isinstance(cause, ApplicationError) and cause.non_retryable


def _cause(err: ActivityError) -> str:
    cause = err.cause
    while (
        cause is not None
        and cause.__cause__ is not None
        and not isinstance(cause, ApplicationError)
    ):
        cause = cause.__cause__
    return str(cause or err)
