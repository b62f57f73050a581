"""The classroom's counters (:class:`servers.classroom.counters.Counters`) in the broker's
Redis, so a class's limits hold across workers.

- ``incr(key, window)``: a fixed window aligned to the epoch (every worker counts into the
  same one): ``INCR`` of ``key:<window number>`` and ``PEXPIRE`` after the window, in one
  transaction.
- ``adjust(key, delta)``: a gauge kept as one hash field per worker (``HINCRBY key w<N>``),
  answered as the sum of the fields. A worker clears its own fields when it starts, so one
  that was killed and started again leaves no share behind.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any


class RedisCounters:
    def __init__(self, redis: Any, prefix: str, worker: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.field = f"w{worker}"
        self.clock = clock
        self._cleared: asyncio.Task[None] | None = None

    async def incr(self, key: str, window: float) -> int:
        number = math.floor(self.clock() / window)
        name = f"{self.prefix}:rate:{key}:{number}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.pexpire(name, max(math.ceil(window * 1000), 1) + 1000)
        count, _ = await pipe.execute()
        return int(count)

    async def adjust(self, key: str, delta: int) -> int:
        if self._cleared is None:
            self._cleared = asyncio.ensure_future(self._clear_mine())
        await self._cleared
        name = f"{self.prefix}:gauge:{key}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(name, self.field, delta)
        pipe.hvals(name)
        _mine, values = await pipe.execute()
        return sum(int(v) for v in values)

    async def _clear_mine(self) -> None:
        """Forget the shares a killed predecessor under this worker number left."""
        async for name in self.redis.scan_iter(match=f"{self.prefix}:gauge:*", count=500):
            await self.redis.hdel(name, self.field)
