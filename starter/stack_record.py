"""Where a running `slaflow run` says what it runs: `<data dir>/stack.json`.

Written once the stack is up and removed when it stops, it holds the stack's process id and
the addresses its parts use (never a token or a secret). Commands run beside the stack read
it: `slaflow doctor` checks the stack's own Slack stand-in and mailbox rather than slack.com,
and a second `slaflow run` on the same data dir says the stack is already running instead of
failing on a port. A record whose process is gone is stale and ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from slaflow.settings import Settings
from starter.dev_secrets import read_dev_secrets, with_dev_secrets

RECORD_FILE = "stack.json"
CARRIED = (
    "SLAFLOW_TEMPORAL_ADDRESS",
    "SLAFLOW_TEMPORAL_UI_URL",
    "SLAFLOW_SMTP_HOST",
    "SLAFLOW_SMTP_PORT",
    "SLAFLOW_SLACK_BASE_URL",
    "SLAFLOW_PUBLIC_URL",
    "SLAFLOW_AGREEMENT_FILE",
)
"""The stack's addresses; API tokens and secrets stay out of the file."""


@dataclass(frozen=True)
class StackRecord:
    pid: int
    api_url: str
    env: dict[str, str]


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD_FILE


def write_record(data_dir: Path, api_url: str, env: dict[str, str]) -> None:
    carried = {key: env[key] for key in CARRIED if key in env}
    record = {"pid": os.getpid(), "api_url": api_url, "env": carried}
    path = record_path(data_dir)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def remove_record(data_dir: Path) -> None:
    """Remove this process's record (another live stack's record is left alone)."""
    found = read_record(data_dir)
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            record_path(data_dir).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def read_record(data_dir: Path) -> StackRecord | None:
    """The record of a stack running on `data_dir`, or None (none, unreadable or stale)."""
    try:
        raw = json.loads(record_path(data_dir).read_text(encoding="utf-8"))
        record = StackRecord(
            pid=int(raw["pid"]),
            api_url=str(raw["api_url"]),
            env={str(k): str(v) for k, v in dict(raw["env"]).items() if k in CARRIED},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.pid > 0 and _alive(record.pid) else None


def with_running_stack(settings: Settings) -> tuple[Settings, StackRecord | None]:
    """`settings` with the running local stack's addresses and development secrets (the bot
    token that its Slack stand-in knows) for every field the user did not set explicitly;
    unchanged when no stack runs on the data dir."""
    record = read_record(settings.data_dir.resolve())
    if record is None:
        return settings, None
    explicit = settings.model_fields_set
    fields = {key.removeprefix("SLAFLOW_").lower(): value for key, value in record.env.items()}
    taken = {name: value for name, value in fields.items() if name not in explicit}
    merged = Settings.model_validate({**settings.model_dump(), **taken})
    merged, _ = with_dev_secrets(merged, {}, read_dev_secrets(settings.data_dir.resolve()))
    return merged, record
