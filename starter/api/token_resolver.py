"""Which role a bearer token (or a login session's token digest) has: settings first, then the
database, each database answer kept for a few seconds.

Tokens from `SLAFLOW_API_TOKENS` are known at start and never touch the database, so a
bootstrapping admin works before any token is stored. Database answers, found and not found,
are cached for `api_token_cache_seconds`: a revoked token stops working within that time, and a
client sending many requests costs one look-up per interval, not one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from activities.people_store import Person, person_by_id
from activities.token_store import token_of_digest
from slaflow.roles import Role, token_digest

CACHE_LIMIT = 10_000
"""Entries kept at most; a flood of made-up tokens cannot grow the cache past this."""


class TokenStoreUnavailable(RuntimeError):
    """The database could not be asked; the API answers 503 rather than guessing."""


@dataclass(frozen=True)
class Principal:
    """Whom a credential belongs to: a person (`person`), or an integration named `name`."""

    role: Role
    name: str
    """The token's name (settings' tokens: '<role> token <first digest characters>')."""
    person: Person | None = None


def _lookup(engine: Engine, digest: str) -> Principal | None:
    """The token's principal; a token of a deactivated person counts as revoked."""
    row = token_of_digest(engine, digest, datetime.now(UTC))
    if row is None:
        return None
    person = None
    if row.person_id is not None:
        person = person_by_id(engine, row.person_id)
        if person is None or not person.active:
            return None
    return Principal(role=Role(row.role), name=row.name, person=person)


class TokenResolver:
    def __init__(
        self,
        configured: dict[str, Role],
        engine: Engine,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configured = {
            token_digest(token): Principal(role, f"{role.value} token {token_digest(token)[:8]}")
            for token, role in configured.items()
        }
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    async def role_of_token(self, token: str) -> Role | None:
        return await self.role_of_digest(token_digest(token))

    async def role_of_digest(self, digest: str) -> Role | None:
        principal = await self.principal_of_digest(digest)
        return None if principal is None else principal.role

    async def principal_of_digest(self, digest: str) -> Principal | None:
        configured = self._configured.get(digest)
        if configured is not None:
            return configured
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            principal = await asyncio.to_thread(_lookup, self._engine, digest)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise TokenStoreUnavailable(f"the token store cannot be read: {reason}") from exc
        if self._cache_seconds > 0:
            self._remember(digest, principal, now + self._cache_seconds)
        return principal

    def _remember(self, digest: str, principal: Principal | None, until: float) -> None:
        if len(self._cache) >= CACHE_LIMIT:
            now = self._clock()
            self._cache = {d: entry for d, entry in self._cache.items() if entry[1] > now}
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
        self._cache[digest] = (principal, until)

    async def name_of_digest(self, digest: str) -> str | None:
        """Who a credential is, for the history: the person's name, else the token's name."""
        principal = await self.principal_of_digest(digest)
        if principal is None:
            return None
        return principal.person.name if principal.person else principal.name
