"""The development admin token of `slaflow run`: made on the first start, kept in the data dir.

The local stack's API asks for tokens like production's does, so the stack makes one admin
token, stores it in `<data dir>/dev-admin-token` (readable by its owner only), hands it to the
API through SLAFLOW_API_TOKENS and prints it in the banner. Later starts reuse it, so curl
commands and browser logins keep working across restarts; `make clean` removes it with the
rest of the state.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from slaflow.api_tokens import TOKEN_PREFIX, new_token
from slaflow.roles import Role
from slaflow.settings import Settings

DEV_TOKEN_FILE = "dev-admin-token"


def dev_token_path(data_dir: Path) -> Path:
    return data_dir / DEV_TOKEN_FILE


def read_dev_admin_token(data_dir: Path) -> str | None:
    """The stored token, or None before the first start (or if the file was emptied)."""
    try:
        token = dev_token_path(data_dir).read_text().strip()
    except FileNotFoundError:
        return None
    return token if token.startswith(TOKEN_PREFIX) else None


def dev_admin_token(data_dir: Path) -> str:
    """The stored token, made (mode 0600, never overwriting another's) when there is none."""
    existing = read_dev_admin_token(data_dir)
    if existing is not None:
        return existing
    path = dev_token_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # an empty or foreign file: replaced
    token = new_token()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another start made it a moment ago: use that one
        again = read_dev_admin_token(data_dir)
        if again is None:
            raise
        return again
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return token


def with_dev_token(
    settings: Settings, env: dict[str, str], token: str
) -> tuple[Settings, dict[str, str]]:
    """Settings and child environment with `token` as an admin token besides configured ones."""
    tokens = {**settings.api_tokens, token: Role.ADMIN}
    variable = json.dumps({key: role.value for key, role in tokens.items()})
    return (
        settings.model_copy(update={"api_tokens": tokens}),
        {**env, "SLAFLOW_API_TOKENS": variable},
    )
