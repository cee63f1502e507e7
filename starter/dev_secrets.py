"""The local stack's secrets: made at random on the first `slaflow run`, kept in the data dir.

No secret is written in the code, so none is known to anyone reading it. The stack stores its
Slack signing secret, bot and app tokens and session secret in `<data dir>/dev-secrets.json`
(readable by its owner only) and gives the same values to the API, the worker and the Slack
stand-in, so the stand-in's clicks verify and browser logins survive a restart. A secret the
user set wins; `make clean` removes the file with the rest of the state.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from slaflow.settings import Settings

FILE_NAME = "dev-secrets.json"
MADE = {
    "slack_signing_secret": lambda: secrets.token_hex(16),  # Slack's shape: 32 hex digits
    "slack_bot_token": lambda: "xoxb-" + secrets.token_urlsafe(32),
    "slack_app_token": lambda: "xapp-" + secrets.token_urlsafe(32),
    "session_secret": lambda: secrets.token_urlsafe(32),
}


def dev_secrets_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read_dev_secrets(data_dir: Path) -> dict[str, str]:
    """The stored secrets that are usable (non-empty strings); {} before the first start."""
    try:
        stored = json.loads(dev_secrets_path(data_dir).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if k in MADE and isinstance(v, str) and v}


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Every secret of MADE: the stored ones, missing ones made and the file rewritten (0600)."""
    stored = read_dev_secrets(data_dir)
    if stored.keys() == MADE.keys():
        return stored
    complete = {name: stored.get(name) or make() for name, make in MADE.items()}
    data_dir.mkdir(parents=True, exist_ok=True)
    path = dev_secrets_path(data_dir)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(complete, handle, indent=2)
    os.replace(partial, path)
    return complete


def with_dev_secrets(
    settings: Settings, env: dict[str, str], made: dict[str, str]
) -> tuple[Settings, dict[str, str]]:
    """Settings and child environment with the made secrets wherever the user set none."""
    chosen = {name: value for name, value in made.items() if not _is_set(settings, name)}
    return (
        settings.model_copy(update={name: SecretStr(v) for name, v in chosen.items()}),
        {**env, **{f"SLAFLOW_{name.upper()}": value for name, value in chosen.items()}},
    )


def _is_set(settings: Settings, name: str) -> bool:
    value = getattr(settings, name)
    return value is not None and bool(value.get_secret_value())
