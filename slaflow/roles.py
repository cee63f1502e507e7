"""Who may do what through the API: four roles, each including the ones before it."""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Role(StrEnum):
    """intake opens tickets; agent reads and acts on them; manager reads the agreement, reports
    and metrics and runs amendments; admin manages API tokens. A role includes every role
    before it (README, Authentication, has the routes of each)."""

    INTAKE = "intake"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, required: Role) -> bool:
        return self.rank >= required.rank


def token_digest(token: str) -> str:
    """How a token is stored and compared: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()
