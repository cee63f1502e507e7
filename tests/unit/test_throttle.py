"""The failure throttle: a few free failures, then doubling waits; success forgets."""

from __future__ import annotations

from starter.api.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_after_the_free_failures_each_one_doubles_the_wait() -> None:
    clock = Clock()
    throttle = FailureThrottle(free=3, longest=10, clock=clock)
    for _ in range(3):
        throttle.failed("a")
        assert throttle.retry_after("a") is None
    waits = []
    for _ in range(6):
        throttle.failed("a")
        waits.append(throttle.retry_after("a"))
    assert waits == [1, 2, 4, 8, 10, 10]
    assert throttle.retry_after("b") is None  # per client
    clock.now += 10
    assert throttle.retry_after("a") is None
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.retry_after("a") is None  # forgotten: free failures again
