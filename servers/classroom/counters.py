"""The counters behind the classroom limits, as a two-method interface a broker can back.

Everything the limits need to share between worker processes goes through :class:`Counters`:

- ``incr(key, window) -> count``: a fixed-window counter (message rate). Windows are aligned
  to the epoch (``floor(time / window)``), so every worker counts into the same window; the
  count is the one after this increment. Redis: ``INCR`` + ``EXPIRE`` of ``key:<window no>``.
- ``adjust(key, delta) -> value``: a gauge (open connections per client, in all). Redis:
  ``INCRBY``; a worker that dies leaves its share behind, so a broker version should keep
  per-worker gauges (a hash field per worker) and drop a dead worker's field.

Both are coroutines so that a broker implementation can await the network.
:class:`LocalCounters` is the in-process one (the default, and a laptop's).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol


class Counters(Protocol):
    async def incr(self, key: str, window: float) -> int: ...

    async def adjust(self, key: str, delta: int) -> int: ...


class LocalCounters:
    """:class:`Counters` in one process's memory; ``clock`` is wall time (epoch seconds)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, count)
        self._gauges: dict[str, int] = {}

    async def incr(self, key: str, window: float) -> int:
        number = math.floor(self.clock() / window)
        current, count = self._windows.get(key, (number, 0))
        count = count + 1 if current == number else 1
        self._windows[key] = (number, count)
        if len(self._windows) > 10_000:  # forget windows that ended (keys of gone clients)
            self._windows = {k: v for k, v in self._windows.items() if v[0] >= number}
        return count

    async def adjust(self, key: str, delta: int) -> int:
        value = self._gauges.get(key, 0) + delta
        if value:
            self._gauges[key] = value
        else:
            self._gauges.pop(key, None)
        return value
