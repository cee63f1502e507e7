"""Slack as the cockpit: buttons, modals and `/sla` turned into ticket commands and answers.

Everything Slack sends us is checked first (`verify_slack_request`): Slack's v0 signature over
the raw body, a timestamp at most 5 minutes away, and a signature not seen before within that
window (`DatabaseReplayGuard`: a table every API replica shares, so a replay sent to another
replica is refused too; `ReplayGuard` keeps them in memory for a single process). Only then is
anything parsed.

A click is answered 200 at once (Slack wants an answer within 3 s) and carried out afterwards
(`SlackCockpit.on_block_action`, `on_view_submission`): the clicker's Slack user id is looked
up in the escalation matrix the ticket pinned, the command runs as that contact
("Name <email>"), and the verdict ("done: ..." or "refused: <the ticket's reason>") goes back
to the clicker alone through the interaction's `response_url`, else `chat.postEphemeral`.
Escalate and resolve want words first: their buttons open a modal (`views.open` with the
click's trigger id), whose submission runs the command with the typed text.

An amendment's approval request (a DM to each signatory) carries Approve and Reject, whose value
is the amendment id. Approve runs `Approve(by=<clicker's Slack user id>)` as an update at once;
Reject asks for the required comment in the same kind of modal, then runs `Reject`. The
amendment workflow's validator is the judge (a stranger, a second decision, a closed
amendment are refused with its reason); before opening the Reject modal the same rule is
checked against the amendment's live state, so nobody types a comment only to be refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from temporalio.client import Client

from activities import agreement_store
from activities.notify_amendment import APPROVE_ACTION, REJECT_ACTION
from activities.notify_email import describe_targets, ticket_link
from activities.people_store import person_by_id, person_by_slack
from activities.slack_tables import claim_signature, purge_expired
from slaflow.agreement import Agreement, Contact
from slaflow.amendments import (
    AMENDMENT_ID_PATTERN,
    AmendmentCommand,
    AmendmentProposal,
    AmendmentState,
    AmendmentStatus,
    AmendmentView,
    Approve,
    Reject,
    refusal,
)
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.people import Actor
from slaflow.settings import Settings
from slaflow.ticket_actions import first_response_note
from slaflow.tickets import (
    TICKET_ID_PATTERN,
    Acknowledge,
    Assign,
    Command,
    Escalate,
    Resolve,
    Respond,
    TicketStatus,
    TicketView,
)
from slaflow.tiers import next_tier
from starter import slack_payloads as payloads
from starter.acting import works_on
from starter.amendments_service import decide as decide_amendment
from starter.amendments_service import get_amendment
from starter.audit import audit
from starter.slack_payloads import SlackPayloadInvalid, parse_payload
from starter.tickets_service import (
    CommandRefused,
    TicketError,
    TicketFilter,
    TicketNotFound,
    get_ticket,
    list_tickets,
    run_command,
)

log = logging.getLogger("slaflow.slack")

SIGNATURE_MAX_AGE_SECONDS = 300
"""Slack's own rule (and slack_sdk's): a request more than 5 minutes from now is refused."""
SLASH_BUDGET_SECONDS = 2.5
"""How long `/sla` may think before answering "working on it" and following up later."""
RESPONSE_TIMEOUT_SECONDS = 10.0
MODAL_CALLBACK_ID = "slaflow_command"
MODAL_BLOCK_ID = "text"
MODAL_ACTION_ID = "value"
OPEN_STATUSES = tuple(
    s for s in TicketStatus if s not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
)
"""What `/sla` counts as open: everything before resolution, waiting statuses included."""
MY_TICKETS_LIMIT = 200
_TICKET_ID = re.compile(TICKET_ID_PATTERN)
_AMENDMENT_ID = re.compile(AMENDMENT_ID_PATTERN)


# ----- verifying what Slack sends ---------------------------------------------------------------


class SlackRequestRejected(Exception):
    """A request that did not come from Slack, or came twice; the message says which check."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReplayGuard:
    """The signatures of accepted requests, each kept in memory until its timestamp leaves the
    window. Per process: with several API replicas use `DatabaseReplayGuard` (the default)."""

    def __init__(
        self,
        window_seconds: float = SIGNATURE_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window_seconds
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._prune(self.clock())
            return len(self._expiry)

    def _prune(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            expiry, signature = heapq.heappop(self._heap)
            if self._expiry.get(signature) == expiry:
                del self._expiry[signature]

    def first_time(self, signature: str, timestamp: int) -> bool:
        """True, and remembered, the first time; False for a signature already accepted.

        A signature stays valid while its timestamp is within the window of now, that is
        until `timestamp + window`, so it is remembered until then (at least a moment)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            if signature in self._expiry:
                return False
            expiry = max(timestamp + self.window, now + 1)
            self._expiry[signature] = expiry
            heapq.heappush(self._heap, (expiry, signature))
            return True


class DatabaseReplayGuard:
    """The signatures of accepted requests in the database table `slack_requests_seen`, shared
    by every API replica: the first replica to insert a signature accepts the request, any
    other (or the same one later) refuses it. Expired rows are purged at most once a minute."""

    PURGE_EVERY_SECONDS = 60.0

    def __init__(
        self,
        engine: Engine,
        window_seconds: float = SIGNATURE_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.window = window_seconds
        self.clock = clock
        self._last_purge = float("-inf")

    def first_time(self, signature: str, timestamp: int) -> bool:
        """True, and recorded, for the first request with this signature on any replica."""
        now = self.clock()
        if now - self._last_purge >= self.PURGE_EVERY_SECONDS:
            self._last_purge = now
            purge_expired(self.engine, datetime.fromtimestamp(now, UTC))
        expiry = datetime.fromtimestamp(max(timestamp + self.window, now + 1), UTC)
        return claim_signature(self.engine, signature, expiry)


class SignatureStore(Protocol):
    def first_time(self, signature: str, timestamp: int) -> bool: ...


def check_slack_signature(
    signing_secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> tuple[str, int]:
    """The signature and timestamp of a request Slack signed within 5 minutes of now; raises
    `SlackRequestRejected` otherwise. Whether it is new is the replay guard's question."""
    if not signing_secret:  # an empty key is a known one: nothing can be verified with it
        raise SlackRequestRejected("no Slack signing secret is configured")
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise SlackRequestRejected("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SlackRequestRejected("malformed X-Slack-Request-Timestamp") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > SIGNATURE_MAX_AGE_SECONDS:
        raise SlackRequestRejected(
            f"stale request: X-Slack-Request-Timestamp is more than "
            f"{SIGNATURE_MAX_AGE_SECONDS} s from now"
        )
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(current))
    try:
        valid = verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:  # slack_sdk decodes the body; Slack only ever sends UTF-8
        valid = False
    if not valid:
        raise SlackRequestRejected("invalid X-Slack-Signature")
    return signature, stamp


REPLAYED = "replayed request: this signature was already accepted"


def verify_slack_request(
    signing_secret: str,
    guard: SignatureStore,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
) -> None:
    """Raise `SlackRequestRejected` unless `body` is signed by Slack, fresh and new."""
    signature, stamp = check_slack_signature(signing_secret, body, headers, now=now)
    if not guard.first_time(signature, stamp):
        raise SlackRequestRejected(REPLAYED)


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def form_fields(body: bytes) -> dict[str, str]:
    """A form-encoded body's fields (the first value of each)."""
    try:
        parsed = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in parsed.items()}


def interaction_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of an interaction's `payload` form field; `SlackPayloadInvalid` (a
    ValueError) naming the problem when there is none, or it is too deep to read."""
    raw = form_fields(body).get("payload")
    if raw is None:
        raise SlackPayloadInvalid("payload: no payload form field")
    return parse_payload(raw)


# ----- people -----------------------------------------------------------------------------------


def actor_name(contact: Contact) -> str:
    """How a Slack user appears in a ticket's history: the matrix contact, "Name <email>"."""
    return f"{contact.name} <{contact.email}>"


def is_person(value: str | None, contact: Contact) -> bool:
    """Whether an assignee or acknowledger string names `contact` (name, email or both)."""
    if not value:
        return False
    wanted = value.strip().lower()
    email = contact.email.lower()
    return wanted in (contact.name.lower(), email, actor_name(contact).lower()) or (
        parseaddr(value)[1].lower() == email
    )


class AgreementVersions:
    """Agreement versions by agreement and number; a version never changes once stored, so
    each is read once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[tuple[str, int], Agreement] = {}

    def _load(self, agreement_id: str, number: int) -> Agreement:
        row = agreement_store.version(self.engine, number, agreement_id)
        return agreement_store.agreement_of(row)

    async def get(self, number: int, agreement_id: str = DEFAULT_AGREEMENT_ID) -> Agreement:
        key = (agreement_id, number)
        if key not in self._cache:
            self._cache[key] = await asyncio.to_thread(self._load, agreement_id, number)
        return self._cache[key]

    async def in_force(self) -> list[Agreement]:
        """Every agreement's version in force now."""
        return await asyncio.to_thread(self._in_force, datetime.now(UTC))

    def _in_force(self, now: datetime) -> list[Agreement]:
        found = []
        for row in agreement_store.agreements(self.engine):
            with contextlib.suppress(agreement_store.NoAgreementError):
                version = agreement_store.version_in_force(self.engine, now, row.id)
                found.append(agreement_store.agreement_of(version))
        return found


# ----- commands, modals, verdicts ---------------------------------------------------------------

BUTTON_COMMANDS = ("acknowledge", "respond", "assign", "escalate", "resolve")
AMENDMENT_BUTTONS = (APPROVE_ACTION, REJECT_ACTION)
"""The buttons of an amendment's approval request (activities.notify_amendment)."""
NEEDS_TEXT = {
    "escalate": ("Escalate ticket", "Escalate", "Why escalate?", 2000),
    "resolve": ("Resolve ticket", "Resolve", "Resolution note", 20000),
    REJECT_ACTION: ("Reject amendment", "Reject", "Why reject? (required)", 3000),
}
"""Commands whose button opens a modal: title, submit label, input label, max length."""


def _subject_key(action: object) -> str:
    """Which metadata field names what a modal's command applies to."""
    return "amendment_id" if action in AMENDMENT_BUTTONS else "ticket_id"


def build_command(action: str, actor: str, text: str = "") -> Command:
    if action == "acknowledge":
        return Acknowledge(actor=actor)
    if action == "respond":
        return Respond(actor=actor)
    if action == "assign":
        return Assign(actor=actor, assignee=actor)
    if action == "escalate":
        return Escalate(actor=actor, reason=text)
    if action == "resolve":
        return Resolve(actor=actor, note=text)
    raise ValueError(f"no command for action {action!r}")


def done_text(action: str, view: TicketView, now: datetime | None = None) -> str:
    """The clicker's confirmation; after an acknowledgement it says that the first-response
    clock still runs, how long is left, and that the Responded button records the response."""
    ticket = view.ticket_id
    if action == "acknowledge":
        note = first_response_note(view, now or datetime.now(UTC))
        return f"done: acknowledged ticket {ticket} (the {view.tier.label} page). {note}"
    return {
        "respond": f"done: first response recorded on ticket {ticket}",
        "assign": f"done: ticket {ticket} is assigned to you",
        "escalate": f"done: escalated ticket {ticket} to the {view.tier.label} tier",
        "resolve": f"done: resolved ticket {ticket}",
    }.get(action, f"done: {action} on ticket {ticket}")


def command_modal(
    action: str, view: TicketView, *, response_url: str | None, channel_id: str | None
) -> dict[str, Any]:
    """The modal asking for an escalation's reason or a resolution note."""
    context = f"*{_mrkdwn(view.ticket_id)}* · {_mrkdwn(view.customer)}: {_mrkdwn(view.subject)}"
    if action == "escalate":
        above = next_tier(view.tier)
        context += f"\nNow at the {view.tier.label} tier" + (
            f"; escalating pages the {above.label}." if above else "."
        )
    metadata = {
        "command": action,
        "ticket_id": view.ticket_id,
        "response_url": response_url,
        "channel_id": channel_id,
    }
    return _text_modal(action, context, metadata)


def amendment_modal(
    view: AmendmentView, *, response_url: str | None, channel_id: str | None
) -> dict[str, Any]:
    """The modal asking a signatory why they reject an amendment (the comment is required)."""
    context = (
        f"*Amendment {_mrkdwn(view.amendment_id)}* (revision {view.revision}) · "
        f"{_mrkdwn(_cut(view.rationale, 1500))}\nProposed by {_mrkdwn(view.proposer)}. "
        "A rejection closes the amendment for every signatory."
    )
    metadata = {
        "command": REJECT_ACTION,
        "amendment_id": view.amendment_id,
        "response_url": response_url,
        "channel_id": channel_id,
    }
    return _text_modal(REJECT_ACTION, context, metadata)


def _text_modal(action: str, context: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A modal with a context line and one required text input; `private_metadata` carries
    what the submission needs (view_submission payloads have no response_url)."""
    title, submit, label, max_length = NEEDS_TEXT[action]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": context}},
            {
                "type": "input",
                "block_id": MODAL_BLOCK_ID,
                "label": {"type": "plain_text", "text": label},
                "element": {
                    "type": "plain_text_input",
                    "action_id": MODAL_ACTION_ID,
                    "multiline": True,
                    "min_length": 1,
                    "max_length": max_length,
                },
            },
        ],
    }


def modal_text(payload: dict[str, Any]) -> str:
    """The text typed into a submitted command modal ("" when missing)."""
    values = ((payload.get("view") or {}).get("state") or {}).get("values") or {}
    entry = (values.get(MODAL_BLOCK_ID) or {}).get(MODAL_ACTION_ID) or {}
    return str(entry.get("value") or "").strip()


def modal_errors(payload: dict[str, Any]) -> dict[str, str] | None:
    """`response_action: errors` content for a submission that cannot be a command, or None."""
    metadata = modal_metadata(payload)
    action = metadata.get("command")
    if action not in NEEDS_TEXT or not metadata.get(_subject_key(action)):
        return {MODAL_BLOCK_ID: "this form is not one slaflow knows; close it and click again"}
    text, limit = modal_text(payload), NEEDS_TEXT[str(action)][3]
    if not text:
        return {MODAL_BLOCK_ID: "please write something"}
    if len(text) > limit:
        return {MODAL_BLOCK_ID: f"at most {limit} characters"}
    return None


def modal_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    """What slaflow put in the modal, each value a string; {} when it is not ours."""
    view = payload.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    return payloads.modal_metadata(raw if isinstance(raw, str) else "").model_dump(
        exclude_none=True
    )


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----- amendments -------------------------------------------------------------------------------


NOT_IN_DIRECTORY = (
    "your Slack user is no active person of slaflow's people directory; nothing was done"
)


def build_amendment_command(action: str, email: str, text: str = "") -> AmendmentCommand:
    """The decision a button (or the Reject modal) stands for, signed by the person whose
    Slack user id clicked (their email, from the people directory)."""
    if action == APPROVE_ACTION:
        return Approve(by=email, method="slack")
    if action == REJECT_ACTION:
        return Reject(by=email, comment=text, method="slack")
    raise ValueError(f"no amendment decision for action {action!r}")


def amendment_done_text(action: str, view: AmendmentView) -> str:
    aid = view.amendment_id
    if action == REJECT_ACTION:
        return f"done: rejected amendment {aid}"
    if view.status is AmendmentStatus.SIGNED:
        return f"done: approved amendment {aid}; every signatory has approved, so it is signed"
    return f"done: approved amendment {aid}"


def amendment_refusal(view: AmendmentView, command: AmendmentCommand) -> str | None:
    """What the workflow's validator would say to `command` given the live `view` (None: it
    would accept): the very rule (`slaflow.amendments.refusal`) on the state the view shows.
    Only a courtesy before a modal opens; the update's validator still has the last word."""
    proposal = AmendmentProposal(
        amendment_id=view.amendment_id,
        proposer=view.proposer,
        agreement=view.agreement,
        rationale=view.rationale,
        signatories=[d.signatory for d in view.signatories],
        effective_from=view.effective_from,
        deadline=view.deadline,
        moves_open_tickets=view.moves_open_tickets,
        amends_version=view.amends_version,
    )
    state = AmendmentState(
        proposal=proposal,
        proposed_at=view.proposed_at,
        revision=view.revision,
        agreement=view.agreement,
        rationale=view.rationale,
        status=view.status,
        decisions=[d.model_copy() for d in view.signatories],
        closed_reason=view.closed_reason,
    )
    return refusal(state, command)


# ----- /sla -------------------------------------------------------------------------------------


def describe_ticket(settings: Settings, view: TicketView, now: datetime | None = None) -> str:
    """A ticket's live state as `/sla <id>` shows it: status, tier, owner, each target."""
    owner = view.assignee or view.acknowledged_by or "nobody yet"
    lines = [
        f"*<{ticket_link(settings, view.ticket_id)}|{_mrkdwn(view.ticket_id)}>* · "
        f"{view.priority} · {_mrkdwn(view.customer)}: {_mrkdwn(view.subject)}",
        f"Status: *{view.status.value}* · Tier: *{view.tier.label}* · Owner: {_mrkdwn(owner)}",
    ]
    for target in describe_targets(view, now):
        if target.deadline is None:  # met, or paused
            lines.append(f"{target.label}: {target.left}")
        else:
            lines.append(f"{target.label}: due {target.due} ({target.left})")
    if view.breached:
        lines.append(":warning: an SLA target is breached")
    return "\n".join(lines)


def _one_line(settings: Settings, view: TicketView, now: datetime) -> str:
    running = [(t.deadline, t) for t in describe_targets(view, now) if t.deadline is not None]
    nearest = min(running, key=lambda pair: pair[0], default=(None, None))[1]
    due = f" · {nearest.label.lower()} {nearest.left}" if nearest else ""
    return (
        f"• <{ticket_link(settings, view.ticket_id)}|{_mrkdwn(view.ticket_id)}> {view.priority} "
        f"{_mrkdwn(view.subject)} · {view.status.value} at {view.tier.label}{due}"
    )


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}


# ----- the cockpit ------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
Spawn = Callable[[Handler, dict[str, Any]], object]
"""Runs a handler on a payload after Slack has its answer: FastAPI's `BackgroundTasks.add_task`
over HTTP, a task of the Socket Mode listener over the websocket."""


@dataclass(frozen=True)
class ReplyTo:
    """Where a verdict goes: the interaction's response_url, else an ephemeral message."""

    user_id: str
    response_url: str | None = None
    channel_id: str | None = None


class SlackCockpit:
    """What the Slack routes call; built once per API app (deps.AppState)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        temporal: Callable[[], Awaitable[Client]],
        slack: AsyncWebClient | None = None,
    ) -> None:
        self.settings = settings
        self.temporal = temporal
        self.engine = engine
        self.agreements = AgreementVersions(engine)
        self.replay_guard: SignatureStore = (
            DatabaseReplayGuard(engine)
            if settings.slack_replay_store == "database"
            else ReplayGuard()
        )
        self.slack = slack or AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_base_url,
            retry_handlers=[],
        )
        self._followups: set[asyncio.Task[None]] = set()

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise `SlackRequestRejected` unless Slack signed `body` lately and never sent it
        before (the database guard is asked off the event loop)."""
        secret = self.settings.slack_signing_secret.get_secret_value()
        signature, stamp = check_slack_signature(secret, body, headers)
        if not await asyncio.to_thread(self.replay_guard.first_time, signature, stamp):
            raise SlackRequestRejected(REPLAYED)

    # -- what Slack sent, by either road (HTTP endpoints or Socket Mode) --

    def take_interaction(self, payload: dict[str, Any], spawn: Spawn) -> dict[str, Any] | None:
        """Slack's answer to an interaction, due within 3 s: None for a plain 200 (or an empty
        Socket Mode ack), or `response_action: errors` to keep a modal whose text is unusable
        open. The command itself runs afterwards through `spawn`."""
        try:
            payloads.check_interaction(payload)
        except SlackPayloadInvalid as exc:
            log.warning("refused a signed Slack interaction: %s", exc)
            spawn(self._unreadable(str(exc)), payload)
            raise
        kind = payload.get("type")
        if kind == "block_actions":
            spawn(self._guarded(self.on_block_action), payload)
        elif kind == "view_submission":
            errors = modal_errors(payload)
            if errors:
                return {"response_action": "errors", "errors": errors}
            spawn(self._guarded(self.on_view_submission), payload)
        else:
            log.info("ignoring Slack interaction of type %r", kind)
        return None

    async def take_command(self, form: dict[str, str]) -> dict[str, Any]:
        """The answer to a slash command (`/sla` only), within Slack's 3 s;
        `SlackPayloadInvalid` for fields of another shape."""
        command = payloads.slash_command(form)
        if command.ssl_check is not None:  # Slack's certificate probe carries no command
            return ephemeral("ok")
        if command.command != "/sla":
            return ephemeral(f"unknown command {command.command}")
        return await self.slash(command.model_dump(exclude_none=True))

    def _guarded(self, handler: Handler) -> Handler:
        """`handler`, never ending in an exception: whatever it did not foresee is logged and
        told to the clicker, so no background task dies unseen."""

        async def run(payload: dict[str, Any]) -> None:
            try:
                await handler(payload)
            except Exception as exc:
                log.exception("Slack %s failed", payload.get("type"))
                await self._unreadable(f"{type(exc).__name__}: {exc}")(payload)

        return run

    def _unreadable(self, reason: str) -> Handler:
        """Tells the clicker of a payload slaflow refused or failed on, where it can."""

        async def tell(payload: dict[str, Any]) -> None:
            user_id, response_url, channel_id = payloads.best_effort_reply_to(payload)
            await self.reply(
                ReplyTo(user_id, response_url, channel_id),
                f"failed: slaflow could not read what Slack sent ({reason}); nothing was done",
            )

        return tell

    # -- answering the clicker --

    async def reply(self, to: ReplyTo, text: str) -> None:
        """Tell the clicker alone: response_url when Slack gave one, else chat.postEphemeral."""
        try:
            if to.response_url:
                async with httpx.AsyncClient(timeout=RESPONSE_TIMEOUT_SECONDS) as http:
                    answer = await http.post(
                        to.response_url, json={**ephemeral(text), "replace_original": False}
                    )
                    answer.raise_for_status()
            elif to.channel_id:
                await self.slack.chat_postEphemeral(
                    channel=to.channel_id, user=to.user_id, text=text
                )
            else:
                log.warning("no way to tell Slack user %s: %s", to.user_id, text)
        except Exception as exc:  # an unreachable or odd response_url must not end the task
            log.warning("could not tell Slack user %s %r: %s", to.user_id, text, exc)

    async def _slack_person(self, user_id: str) -> Actor | None:
        """The active person of the directory with this Slack user id, as an actor."""
        person = await asyncio.to_thread(person_by_slack, self.engine, user_id) if user_id else None
        if person is None or not person.active:
            return None
        return Actor(
            name=f"{person.name} <{person.email}>",
            method="slack",
            credential=f"slack:{user_id}",
            person_id=person.id,
            email=person.email,
        )

    async def _person(self, ticket_id: str, user_id: str) -> tuple[TicketView, Actor | None]:
        """The ticket, and the clicker as a person working on its agreement (else None)."""
        view = await get_ticket(await self.temporal(), ticket_id)
        actor = await self._slack_person(user_id)
        if actor is None or actor.person_id is None:
            return view, None
        person = await asyncio.to_thread(person_by_id, self.engine, actor.person_id)
        if person is None or not works_on(person, view.agreement_id):
            return view, None
        return view, actor

    @staticmethod
    def _not_in_matrix(view: TicketView) -> str:
        return (
            f"you do not work on agreement {view.agreement_id} of ticket {view.ticket_id} "
            "(no active person of slaflow's directory with your Slack user id has a role "
            "there); nothing was done"
        )

    async def _refused(self, ticket_id: str, action: str, user_id: str, why: str) -> None:
        actor = Actor(name=f"Slack user {user_id}", method="slack", credential=f"slack:{user_id}")
        await audit(self.engine, "ticket", ticket_id, action, actor, refused=why)

    async def _run(self, to: ReplyTo, ticket_id: str, action: str, text: str = "") -> None:
        actor: Actor | None = None
        try:
            view, actor = await self._person(ticket_id, to.user_id)
            if actor is None:
                await self._refused(ticket_id, action, to.user_id, self._not_in_matrix(view))
                await self.reply(to, self._not_in_matrix(view))
                return
            command = build_command(action, actor.name, text)
            after = await run_command(await self.temporal(), ticket_id, command)
            await audit(self.engine, "ticket", ticket_id, action, actor)
        except CommandRefused as exc:
            if actor is not None:
                await audit(self.engine, "ticket", ticket_id, action, actor, refused=exc.message)
            await self.reply(to, f"refused: {exc.message}")
        except TicketError as exc:
            await self.reply(to, f"failed: {exc.message}")
        except Exception as exc:
            log.exception("Slack %s on ticket %s failed", action, ticket_id)
            await self.reply(to, f"failed: {type(exc).__name__}: {exc}")
        else:
            log.info("Slack user %s: %s ticket %s", to.user_id, action, ticket_id)
            await self.reply(to, done_text(action, after))

    # -- interactions (run after Slack got its 200) --

    async def on_block_action(self, payload: dict[str, Any]) -> None:
        user_id = str((payload.get("user") or {}).get("id") or "")
        channel_id = (payload.get("channel") or {}).get("id") or (
            payload.get("container") or {}
        ).get("channel_id")
        to = ReplyTo(user_id, payload.get("response_url"), channel_id)
        for action in payload.get("actions") or []:
            action_id, ticket_id = action.get("action_id"), str(action.get("value") or "")
            if action_id in AMENDMENT_BUTTONS:
                await self._amendment_button(payload, to, str(action_id), ticket_id)
                continue
            if action_id not in BUTTON_COMMANDS:
                log.info("ignoring Slack action %r", action_id)
                continue
            if not _TICKET_ID.match(ticket_id):
                await self.reply(to, f"failed: {ticket_id!r} is not a ticket id")
                continue
            if action_id in NEEDS_TEXT:
                await self._open_modal(payload, to, action_id, ticket_id)
            else:
                await self._run(to, ticket_id, action_id)

    async def _open_modal(
        self, payload: dict[str, Any], to: ReplyTo, action: str, ticket_id: str
    ) -> None:
        """Check the clicker belongs to the ticket's matrix, then ask for the text (the
        trigger id is good for 3 s, so this runs first thing after the 200)."""
        try:
            view, actor = await self._person(ticket_id, to.user_id)
        except TicketError as exc:
            await self.reply(to, f"failed: {exc.message}")
            return
        if actor is None:
            await self._refused(ticket_id, action, to.user_id, self._not_in_matrix(view))
            await self.reply(to, self._not_in_matrix(view))
            return
        modal = command_modal(action, view, response_url=to.response_url, channel_id=to.channel_id)
        try:
            await self.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=modal)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response else exc
            await self.reply(to, f"failed: could not open the {action} form: {error}")

    async def on_view_submission(self, payload: dict[str, Any]) -> None:
        metadata = modal_metadata(payload)
        user_id = str((payload.get("user") or {}).get("id") or "")
        to = ReplyTo(user_id, metadata.get("response_url"), metadata.get("channel_id"))
        action = str(metadata["command"])
        if action in AMENDMENT_BUTTONS:
            amendment_id = str(metadata["amendment_id"])
            await self._decide(to, amendment_id, action, modal_text(payload))
            return
        ticket_id = str(metadata["ticket_id"])
        await self._run(to, ticket_id, action, modal_text(payload))

    # -- amendments --

    async def _amendment_button(
        self, payload: dict[str, Any], to: ReplyTo, action: str, amendment_id: str
    ) -> None:
        if not _AMENDMENT_ID.match(amendment_id):
            await self.reply(to, f"failed: {amendment_id!r} is not an amendment id")
            return
        if not to.user_id:
            await self.reply(to, "failed: the click names no Slack user; nothing was done")
            return
        if action in NEEDS_TEXT:
            await self._open_amendment_modal(payload, to, amendment_id)
        else:
            await self._decide(to, amendment_id, action)

    async def _decide(self, to: ReplyTo, amendment_id: str, action: str, text: str = "") -> None:
        """Run the decision as the person whose Slack user id clicked; tell them the verdict."""
        name = "approve" if action == APPROVE_ACTION else "reject"
        actor = await self._slack_person(to.user_id)
        if actor is None or actor.email is None:
            why = NOT_IN_DIRECTORY
            stranger = Actor(
                name=f"Slack user {to.user_id}", method="slack", credential=f"slack:{to.user_id}"
            )
            await audit(self.engine, "amendment", amendment_id, name, stranger, refused=why)
            await self.reply(to, f"refused: {why}")
            return
        try:
            command = build_amendment_command(action, actor.email, text)
            after = await decide_amendment(
                await self.temporal(), amendment_id, command, engine=self.engine
            )
            await audit(self.engine, "amendment", amendment_id, name, actor)
        except CommandRefused as exc:
            await audit(self.engine, "amendment", amendment_id, name, actor, refused=exc.message)
            await self.reply(to, f"refused: {exc.message}")
        except TicketError as exc:
            await self.reply(to, f"failed: {exc.message}")
        except Exception as exc:
            log.exception("Slack %s on amendment %s failed", action, amendment_id)
            await self.reply(to, f"failed: {type(exc).__name__}: {exc}")
        else:
            log.info("Slack user %s: %s amendment %s", to.user_id, action, amendment_id)
            await self.reply(to, amendment_done_text(action, after))

    async def _open_amendment_modal(
        self, payload: dict[str, Any], to: ReplyTo, amendment_id: str
    ) -> None:
        """Ask a signatory for the rejection's comment, unless the rule already refuses them
        (a stranger, a second decision, a closed amendment): then say why and open nothing."""
        try:
            view = await get_amendment(await self.temporal(), amendment_id)
        except TicketError as exc:
            await self.reply(to, f"failed: {exc.message}")
            return
        actor = await self._slack_person(to.user_id)
        if actor is None or actor.email is None:
            await self.reply(to, f"refused: {NOT_IN_DIRECTORY}")
            return
        try:
            refused = amendment_refusal(view, Reject(by=actor.email, comment="-"))
        except Exception:  # a view the pre-check cannot read: let the validator judge
            log.exception("could not pre-check a rejection of amendment %s", amendment_id)
            refused = None
        if refused:
            await self.reply(to, f"refused: {refused}")
            return
        modal = amendment_modal(view, response_url=to.response_url, channel_id=to.channel_id)
        try:
            await self.slack.views_open(trigger_id=str(payload.get("trigger_id") or ""), view=modal)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response else exc
            await self.reply(to, f"failed: could not open the reject form: {error}")

    # -- /sla --

    async def slash(self, form: dict[str, str]) -> dict[str, Any]:
        """`/sla <ticket-id>`: that ticket's live state; `/sla`: the caller's open tickets.
        Answered at once; if Temporal is slow the answer follows through response_url."""
        work = asyncio.ensure_future(self._slash_text(form))
        done, _ = await asyncio.wait({work}, timeout=SLASH_BUDGET_SECONDS)
        if done:
            return ephemeral(work.result())
        to = ReplyTo(form.get("user_id", ""), form.get("response_url"), form.get("channel_id"))
        follow = asyncio.ensure_future(self._follow_up(work, to))
        self._followups.add(follow)
        follow.add_done_callback(self._followups.discard)
        return ephemeral("working on it…")

    async def _follow_up(self, work: asyncio.Future[str], to: ReplyTo) -> None:
        await self.reply(to, await work)

    async def _slash_text(self, form: dict[str, str]) -> str:
        text, user_id = form.get("text", "").strip(), form.get("user_id", "")
        try:
            if text:
                ticket_id = text
                if not _TICKET_ID.match(ticket_id):
                    return f"{ticket_id!r} is not a ticket id. Usage: `/sla [ticket-id]`"
                try:
                    view = await get_ticket(await self.temporal(), ticket_id)
                except TicketNotFound:
                    return f"no ticket {ticket_id}"
                return describe_ticket(self.settings, view)
            return await self._my_tickets(user_id)
        except TicketError as exc:
            return f"failed: {exc.message}"
        except Exception as exc:
            log.exception("/sla %r failed", text)
            return f"failed: {type(exc).__name__}: {exc}"

    async def _my_tickets(self, user_id: str) -> str:
        """Open tickets whose assignee or acknowledger is the caller, as each ticket's pinned
        matrix knows the caller."""
        client = await self.temporal()
        found = await asyncio.gather(
            *(
                list_tickets(client, TicketFilter(status=s), limit=MY_TICKETS_LIMIT, detail=True)
                for s in OPEN_STATUSES
            )
        )
        mine: dict[str, TicketView] = {}
        known = False
        unread = sorted({s.ticket_id for listing in found for s in listing.tickets if s.problem})
        for listing in found:
            for summary in listing.tickets:
                view = summary.detail
                if view is None or view.status not in OPEN_STATUSES:
                    continue
                agreement = await self.agreements.get(view.agreement_version, view.agreement_id)
                match = agreement.escalation.find_contact(slack_user_id=user_id)
                if match is None:
                    continue
                known = True
                contact = match[1]
                if is_person(view.assignee, contact) or is_person(view.acknowledged_by, contact):
                    mine[view.ticket_id] = view
        if not known:
            current = await self.agreements.in_force()
            if all(a.escalation.find_contact(slack_user_id=user_id) is None for a in current):
                return "you are not in the escalation matrix, so no ticket can be yours"
        footer = [_unread_line(unread)] if unread else []
        if not mine:
            return "\n".join(
                ["no open ticket is yours (assigned to you or acknowledged by you)", *footer]
            )
        now = datetime.now(UTC)
        ordered = sorted(mine.values(), key=lambda v: (v.priority, -v.tier.rank, v.ticket_id))
        header = f"{len(ordered)} open ticket{'s' if len(ordered) != 1 else ''} of yours:"
        lines = [header, *(_one_line(self.settings, v, now) for v in ordered), *footer]
        return "\n".join(lines)


def _unread_line(ticket_ids: list[str]) -> str:
    """Tickets that could not answer (a broken one among them, perhaps): said, not hidden."""
    shown = ", ".join(ticket_ids[:10]) + (" …" if len(ticket_ids) > 10 else "")
    return f"could not read {len(ticket_ids)} open ticket(s), which may be yours: {shown}"
