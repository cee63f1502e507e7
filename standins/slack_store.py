"""Where the Slack stand-in keeps its workspace between runs: one SQLite file.

Channels (and direct-message channels), users, messages and the app's answers to clicks are
written through on every change, so stopping the local stack loses nothing and the next run
shows the same channels, threads and buttons. Without a path it keeps nothing (tests).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

__all__ = ["StateStore", "Stored"]

_SCHEMA = """
create table if not exists channels (id text primary key, name text not null, im_user text);
create table if not exists users (id text primary key, record text not null);
create table if not exists messages (
    channel text not null, ts text not null, record text not null, primary key (channel, ts));
create table if not exists responses (id text primary key, at real not null, record text not null);
"""


class Stored:
    """What a store held when opened."""

    def __init__(self) -> None:
        self.channels: dict[str, tuple[str, str | None]] = {}  # id -> (name, im user)
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []  # in ts order
        self.responses: list[dict[str, Any]] = []  # in arrival order


class StateStore:
    """Write-through persistence of the stand-in's workspace (SQLite, one connection)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("pragma journal_mode=wal")
            self._db.execute("pragma synchronous=normal")  # survives a crash of the process
            self._db.executescript(_SCHEMA)

    def load(self) -> Stored:
        stored = Stored()
        if self._db is None:
            return stored
        with self._lock:
            for cid, name, im_user in self._db.execute("select id, name, im_user from channels"):
                stored.channels[cid] = (name, im_user)
            for uid, record in self._db.execute("select id, record from users"):
                stored.users[uid] = json.loads(record)
            rows = self._db.execute("select record from messages order by cast(ts as real), ts")
            stored.messages = [json.loads(r) for (r,) in rows]
            rows = self._db.execute("select record from responses order by at, rowid")
            stored.responses = [json.loads(r) for (r,) in rows]
        return stored

    def _write(self, sql: str, *args: Any) -> None:
        if self._db is not None:
            with self._lock:
                self._db.execute(sql, args)

    def save_channel(self, channel_id: str, name: str, im_user: str | None) -> None:
        self._write("insert or replace into channels values (?, ?, ?)", channel_id, name, im_user)

    def save_user(self, record: dict[str, Any]) -> None:
        self._write("insert or replace into users values (?, ?)", record["id"], json.dumps(record))

    def save_message(self, record: dict[str, Any]) -> None:
        if self._db is None:
            return
        self._write(
            "insert or replace into messages values (?, ?, ?)",
            record["channel"],
            record["ts"],
            json.dumps(record),
        )

    def save_response(self, record: dict[str, Any]) -> None:
        self._write(
            "insert or replace into responses values (?, ?, ?)",
            f"{record['id']}/{record.get('seq', 0)}",
            float(record.get("epoch") or 0),
            json.dumps(record),
        )

    def clear(self) -> None:
        if self._db is not None:
            with self._lock:
                for table in ("channels", "users", "messages", "responses"):
                    self._db.execute(f"delete from {table}")  # fixed names

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None
