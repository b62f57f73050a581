"""The counters behind the classroom limits, as a two-method interface a broker can back.

Everything the limits need to share between worker processes goes through :class:`Counters`:

- ``take(key, rate, burst) -> wait``: one message through a token bucket that holds
  ``burst`` messages and refills at ``rate`` per second; ``0.0`` when it passes, else the
  seconds until one would (nothing is taken then). Kept as GCRA, the generic cell rate
  algorithm: one stored time per key, the *theoretical arrival time* (when the bucket would be
  full again), so a broker needs no timer. Redis: one Lua script on that key (read the time,
  compare with ``now - (burst - 1) / rate``, ``SET`` it ``PX`` until it lapses), as redis-cell's
  ``CL.THROTTLE`` does; the clock is the broker's or an epoch clock every worker shares.
- ``adjust(key, delta) -> value``: a gauge (open connections per client, in all). Redis:
  ``INCRBY``; a worker that dies leaves its share behind, so a broker version should keep
  per-worker gauges (a hash field per worker) and drop a dead worker's field.

Both are coroutines so that a broker implementation can await the network.
:class:`LocalCounters` is the in-process one (the default, and a laptop's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

#: forget buckets that are full again once this many keys are held (keys of gone clients)
MAX_KEYS = 10_000


class Counters(Protocol):
    async def take(self, key: str, rate: float, burst: int) -> float: ...

    async def adjust(self, key: str, delta: int) -> int: ...


def gcra(arrival: float | None, now: float, rate: float, burst: int) -> tuple[float, float]:
    """``(new arrival time, wait)`` for one message: GCRA's whole rule, pure.

    ``arrival`` is the stored theoretical arrival time (None: a full bucket). The message
    passes when the bucket, emptied by ``arrival - now`` seconds of messages, still has room
    for one: ``arrival - now <= (burst - 1) / rate``; it then moves ``arrival`` on by
    ``1 / rate``. ``wait`` is 0.0 when it passes, else how long until it would."""
    interval = 1.0 / rate
    start = now if arrival is None else max(arrival, now)
    wait = start + interval - burst * interval - now
    if wait > 1e-9:  # not rounding error on a message that arrives right on time
        return start, wait
    return start + interval, 0.0


class LocalCounters:
    """:class:`Counters` in one process's memory; ``clock`` is wall time (epoch seconds)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._arrivals: dict[str, float] = {}  # key -> theoretical arrival time
        self._gauges: dict[str, int] = {}

    async def take(self, key: str, rate: float, burst: int) -> float:
        now = self.clock()
        arrival, wait = gcra(self._arrivals.get(key), now, rate, burst)
        self._arrivals[key] = arrival
        if len(self._arrivals) > MAX_KEYS:
            self._arrivals = {k: t for k, t in self._arrivals.items() if t > now}
        return wait

    async def adjust(self, key: str, delta: int) -> int:
        value = self._gauges.get(key, 0) + delta
        if value:
            self._gauges[key] = value
        else:
            self._gauges.pop(key, None)
        return value
