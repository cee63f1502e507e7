"""Slowing down guessing: repeated failed logins and bearer tokens from one client.

A client (its address) may fail `free` times; every failure after that shuts it out for a
doubling delay (1 s, 2 s, 4 s ... at most `longest`), answered 429 with Retry-After, so a
guesser gets a handful of tries a minute instead of thousands. A success forgets its failures.
In memory, per API process, bounded: a flood of addresses cannot grow it without limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

LIMIT = 10_000


@dataclass
class _Record:
    failures: int
    blocked_until: float


class FailureThrottle:
    def __init__(
        self,
        *,
        free: int = 5,
        longest: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.longest = longest
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may now."""
        record = self._records.get(client)
        if record is None:
            return None
        left = record.blocked_until - self._clock()
        return max(1, int(left + 0.999)) if left > 0 else None

    def failed(self, client: str) -> None:
        record = self._records.get(client)
        if record is None:
            if len(self._records) >= LIMIT:
                self._records.clear()
            record = self._records[client] = _Record(0, 0.0)
        record.failures += 1
        over = record.failures - self.free
        if over > 0:
            record.blocked_until = self._clock() + min(self.longest, 2.0 ** (over - 1))

    def succeeded(self, client: str) -> None:
        self._records.pop(client, None)
