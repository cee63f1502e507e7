"""Deterministic orchestration: no I/O, clock or randomness; every side effect is an activity."""
