"""The Slack stand-in's workspace: channels, direct messages, users, messages, and the
short-lived things Slack keeps for an interaction (trigger ids, modals, response URLs).

Everything sits behind one lock (tests read it from any thread). The workspace itself is
written through to a `StateStore`, so it survives a restart; triggers, modals and injected
failures are per run, as they expire within seconds in Slack anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from standins.slack_store import StateStore

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_CLICKER",
    "TEAM_ID",
    "Failure",
    "StandinState",
    "StoredMessage",
    "user_record",
]

BOT_USER_ID = "U0SLAFLOW"
BOT_ID = "B0SLAFLOW"
TEAM_ID = "T0STANDIN"
APP_ID = "A0SLAFLOW"
DEFAULT_CLICKER = "U0STANDIN"
"""Who clicks when the page or a test names nobody (not in any escalation matrix)."""

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class StoredMessage:
    channel: str
    channel_name: str
    ts: str
    text: str
    blocks: list[Any] | None
    user: str
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class Failure:
    """An injected failure for `method` ("*" for any), served `times` times (None: until reset)
    or, with `for_seconds`, to every call until that long after it was injected (an outage)."""

    method: str = "*"
    error: str = "internal_error"
    status: int = 200
    times: int | None = 1
    retry_after: int = 1
    for_seconds: float | None = None
    injected_at: float = field(default_factory=time.monotonic)

    def expired(self) -> bool:
        return self.for_seconds is not None and (
            time.monotonic() - self.injected_at >= self.for_seconds
        )


def user_record(user_id: str, name: str, email: str | None, **extra: Any) -> dict[str, Any]:
    """A users.info `user` object."""
    profile: dict[str, Any] = {"real_name": name, "display_name": name}
    if email:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": name,
        "deleted": False,
        "is_bot": False,
        "tz": "UTC",
        "profile": profile,
        **extra,
    }


def _is_user_id(value: str) -> bool:
    return value[:1] in ("U", "W") and len(value) > 1 and value.isalnum() and value.isupper()


def _channel_id(prefix: str, key: str) -> str:
    return prefix + hashlib.sha1(key.encode()).hexdigest()[:10].upper()


_MESSAGE_FIELDS = {f.name for f in fields(StoredMessage)}


@dataclass
class StandinState:
    """Everything the stand-in remembers, behind one lock."""

    auto_create: bool = True
    initial_channels: tuple[str, ...] = ()
    store: StateStore = field(default_factory=StateStore)
    channels: dict[str, str] = field(default_factory=dict)  # id -> name (a DM's: the user id)
    ims: dict[str, str] = field(default_factory=dict)  # DM channel id -> user id
    messages: list[StoredMessage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_ts_us: int = 0
    triggers: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (issued, user)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> view, as opened
    responses: list[dict[str, Any]] = field(default_factory=list)  # what came to response_urls
    interactions: list[dict[str, Any]] = field(default_factory=list)  # what was sent, answered
    edits: list[dict[str, Any]] = field(default_factory=list)  # chat.update calls that landed
    response_urls: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user, channel
    revision: int = 0  # counts changes; the page reloads when it moves
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        """Open what the store kept, or start a fresh workspace."""
        stored = self.store.load()
        for channel_id, (name, im_user) in stored.channels.items():
            self.channels[channel_id] = name
            if im_user:
                self.ims[channel_id] = im_user
        self.users.update(stored.users)
        self.messages = [
            StoredMessage(**{k: v for k, v in m.items() if k in _MESSAGE_FIELDS})
            for m in stored.messages
        ]
        self.responses = stored.responses
        if self.messages:
            seconds, _, micros = max(self.messages, key=lambda m: float(m.ts)).ts.partition(".")
            self.last_ts_us = int(seconds) * 1_000_000 + int(micros or 0)
        if not self.channels:
            for name in self.initial_channels:
                self.add_channel(name)

    def changed(self) -> None:
        with self.lock:
            self.revision += 1

    def reset(self) -> None:
        with self.lock:
            for kept in (self.channels, self.ims, self.users, self.triggers, self.views):
                kept.clear()
            for log in (self.messages, self.failures, self.responses, self.interactions):
                log.clear()
            self.edits.clear()
            self.response_urls.clear()
            self.store.clear()
            for name in self.initial_channels:
                self.add_channel(name)
            self.changed()

    # -- channels and direct messages --

    def add_channel(self, name_or_id: str) -> str:
        """Create a channel ("#name" or a "C..." id) and return its id."""
        with self.lock:
            if name_or_id.startswith("C"):
                channel_id, name = name_or_id, self.channels.get(name_or_id, name_or_id)
            else:
                name = name_or_id.lstrip("#")
                channel_id = _channel_id("C", name)
            if self.channels.get(channel_id) != name:
                self.channels[channel_id] = name
                self.store.save_channel(channel_id, name, None)
                self.changed()
            return channel_id

    def open_im(self, user_id: str) -> str | None:
        """The direct-message channel ("D...") between the app and `user_id`, opened on first
        use as Slack does; None for an id that is no user."""
        with self.lock:
            if self.user(user_id) is None:
                return None
            channel_id = _channel_id("D", user_id)
            if channel_id not in self.ims:
                self.channels[channel_id] = user_id
                self.ims[channel_id] = user_id
                self.store.save_channel(channel_id, user_id, user_id)
                self.changed()
            return channel_id

    def resolve_channel(self, channel: str, *, create: bool = True) -> str | None:
        """The id of `channel`: an id, "#name" or "name", or a user id (their DM, opened when
        `create`). Channels named "#..." or "C..." are created on first use when `create` and
        `auto_create` allow."""
        with self.lock:
            if channel in self.channels:
                return channel
            if _is_user_id(channel):
                opened = _channel_id("D", channel)
                return self.open_im(channel) if create else (opened if opened in self.ims else None)
            name = channel.lstrip("#")
            for channel_id, known in self.channels.items():
                if known == name and channel_id not in self.ims:
                    return channel_id
            if create and self.auto_create and channel[:1] in ("#", "C") and len(channel) > 1:
                return self.add_channel(channel)
            return None

    # -- messages --

    def next_ts(self) -> str:
        """A unique, increasing message ts shaped like Slack's ("1700000000.000100")."""
        with self.lock:
            self.last_ts_us = max(int(time.time() * 1_000_000), self.last_ts_us + 1)
            seconds, micros = divmod(self.last_ts_us, 1_000_000)
            return f"{seconds}.{micros:06d}"

    def append(self, message: StoredMessage) -> StoredMessage:
        with self.lock:
            self.messages.append(message)
            self.saved(message)
        return message

    def saved(self, message: StoredMessage) -> None:
        """Write `message` (new or edited) through to the store."""
        with self.lock:
            if self.store.path is not None:  # asdict copies the blocks: only when kept
                self.store.save_message(asdict(message))
            self.changed()

    def say(self, channel: str, text: str, user: str = DEFAULT_CLICKER) -> StoredMessage:
        """A message a person wrote (not the app), e.g. to see chat.update refuse it."""
        with self.lock:
            channel_id = self.resolve_channel(channel)
            if channel_id is None:
                raise KeyError(f"unknown channel {channel}")
            return self.append(
                StoredMessage(
                    channel=channel_id,
                    channel_name=self.channels[channel_id],
                    ts=self.next_ts(),
                    text=text,
                    blocks=None,
                    user=user,
                )
            )

    def find_message(self, channel: str, ts: str) -> StoredMessage | None:
        with self.lock:
            channel_id = self.resolve_channel(channel, create=False)
            return next((m for m in self.messages if m.channel == channel_id and m.ts == ts), None)

    def record_response(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.responses.append(entry)
            self.store.save_response(entry)
            self.changed()

    # -- people --

    def add_user(self, user_id: str, name: str, email: str | None = None) -> dict[str, Any]:
        record = user_record(user_id, name, email)
        with self.lock:
            if self.users.get(user_id) != record:
                self.users[user_id] = record
                self.store.save_user(record)
                self.changed()
        return record

    def known_user_ids(self) -> list[str]:
        """Registered users, then everyone a message mentions: whom the page offers to click as."""
        with self.lock:
            found = dict.fromkeys(self.users)
            found.update(dict.fromkeys(self.ims.values()))
            for message in self.messages:
                found.update(dict.fromkeys(MENTION.findall(message.text)))
                if message.blocks:
                    found.update(dict.fromkeys(MENTION.findall(json.dumps(message.blocks))))
            return list(found)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """A registered user, or a synthesized one for any "U"/"W" id (everyone exists here)."""
        with self.lock:
            if user_id in self.users:
                return self.users[user_id]
            if _is_user_id(user_id):
                return user_record(user_id, user_id.lower(), None)
            return None

    def display_name(self, user_id: str) -> str:
        if user_id == BOT_USER_ID:
            return "slaflow"
        record = self.users.get(user_id) or {}  # an unregistered user is shown by id
        return str(record.get("real_name") or user_id)

    # -- interactions --

    def take_failure(self, method: str) -> Failure | None:
        with self.lock:
            self.failures = [f for f in self.failures if not f.expired()]
            for failure in self.failures:
                if failure.method in ("*", method):
                    if failure.for_seconds is None and failure.times is not None:
                        failure.times -= 1
                        if failure.times <= 0:
                            self.failures.remove(failure)
                    return failure
            return None

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"
        with self.lock:
            now = time.monotonic()
            expired = [t for t, (at, _) in self.triggers.items() if now - at > 60]
            for old in expired:
                del self.triggers[old]
            self.triggers[trigger_id] = (now, user_id)
        return trigger_id
