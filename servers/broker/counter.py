"""Counters that every worker sees: fixed-window rate counters and sequence numbers.

``incr(key, window_seconds) -> int`` is the rate-limit interface: how many times ``key`` was
counted in the current window of ``window_seconds`` (this call included). A window starts at
its first count and ends ``window_seconds`` later (Redis ``INCR`` plus ``PEXPIRE … NX`` in one
transaction; the in-process twin does the same with a clock passed in). ``next(key)`` is a
sequence (1, 2, 3, …) shared by all workers: e.g. a document's versions, which must strictly
increase whichever worker assigns them. ``current(key)`` reads a sequence without moving it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol


class Counters(Protocol):
    async def incr(self, key: str, window_seconds: float) -> int: ...
    async def next(self, key: str) -> int: ...
    async def current(self, key: str) -> int: ...


class LocalCounters:
    """One process's counters (no broker)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.windows: dict[str, tuple[float, int]] = {}  # key -> (window end, count)
        self.sequences: dict[str, int] = {}

    async def incr(self, key: str, window_seconds: float) -> int:
        return self.incr_at(key, window_seconds, self.clock())

    def incr_at(self, key: str, window_seconds: float, now: float) -> int:
        end, count = self.windows.get(key, (0.0, 0))
        if now >= end:
            end, count = now + window_seconds, 0
            if len(self.windows) > 10_000:  # forget windows that are over
                self.windows = {k: v for k, v in self.windows.items() if v[0] > now}
        self.windows[key] = (end, count + 1)
        return count + 1

    async def next(self, key: str) -> int:
        self.sequences[key] = self.sequences.get(key, 0) + 1
        return self.sequences[key]

    async def current(self, key: str) -> int:
        return self.sequences.get(key, 0)


class RedisCounters:
    """The same counters in the broker's Redis, under ``prefix``."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def incr(self, key: str, window_seconds: float) -> int:
        name = f"{self.prefix}:rate:{key}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.pexpire(name, max(int(window_seconds * 1000), 1), nx=True)
        count, _ = await pipe.execute()
        return int(count)

    async def next(self, key: str) -> int:
        return int(await self.redis.incr(f"{self.prefix}:seq:{key}"))

    async def current(self, key: str) -> int:
        return int(await self.redis.get(f"{self.prefix}:seq:{key}") or 0)
