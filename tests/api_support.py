"""API tokens for tests: one per role, configured through settings like production's."""

from __future__ import annotations

from typing import Any

from slaflow.roles import Role
from slaflow.settings import Settings

TOKENS = {role: f"test-{role.value}-token" for role in Role}
ADMIN_TOKEN = TOKENS[Role.ADMIN]


def auth_headers(role: Role = Role.ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def auth_settings(**fields: Any) -> Settings:
    """Settings with a token for every role (see TOKENS) besides `fields`."""
    return Settings(api_tokens={token: role for role, token in TOKENS.items()}, **fields)
