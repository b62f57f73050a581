"""Checks for the clients' numeric knobs, so a bad value fails at construction, in words.

A ``heartbeat_interval`` of 0 or -1 once made a client ping in a tight loop (the kernel at
60 % CPU); a timeout of ``nan`` waits forever. Every client checks its knobs with these
before it starts, the way the backoff policies check theirs: a :class:`ValueError` that names
the knob and the value. ``nan`` fails every check (it is neither positive nor zero).
"""

from __future__ import annotations

from typing import Any


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def positive(name: str, value: Any) -> float:
    """``value`` if it is a number > 0, else a ValueError naming ``name``."""
    if not _number(name, value) > 0:
        raise ValueError(f"{name} must be > 0 seconds, got {value!r}")
    return float(value)


def positive_or_none(name: str, value: Any) -> float | None:
    """None (the feature is off), or a number > 0."""
    return None if value is None else positive(name, value)


def non_negative(name: str, value: Any) -> float:
    """``value`` if it is a number >= 0, else a ValueError naming ``name``."""
    if not _number(name, value) >= 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    return float(value)


def count(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` if it is an int >= ``minimum`` (a number of retries, of messages)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


__all__ = ["count", "non_negative", "positive", "positive_or_none"]
