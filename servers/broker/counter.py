"""The classroom's counters (:class:`servers.classroom.counters.Counters`) in the broker's
Redis, so a class's limits hold across workers.

- ``take(key, rate, burst)``: the token bucket as GCRA, one Redis key per client holding the
  theoretical arrival time, read and moved on by one Lua script (:data:`TAKE`: the rule of
  :func:`servers.classroom.counters.gcra`, atomic across workers). The time is this process's
  epoch clock, the same on every worker of one machine; the key lapses once the bucket would
  be full again.
- ``adjust(key, delta)``: a gauge kept as one hash field per worker (``HINCRBY key w<N>``),
  answered as the sum of the fields. A worker clears its own fields when it starts, so one
  that was killed and started again leaves no share behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

#: GCRA in Lua. ARGV: now, 1 / rate, burst. Answers the wait as a string ("0": passed);
#: Redis would truncate a Lua number to an integer.
TAKE = """
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local arrival = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if arrival < now then arrival = now end
local wait = arrival + interval - burst * interval - now
if wait > 1e-9 then return tostring(wait) end
local ttl = math.ceil((arrival + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', arrival + interval), 'PX', ttl)
return '0'
"""


class RedisCounters:
    def __init__(self, redis: Any, prefix: str, worker: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.field = f"w{worker}"
        self.clock = clock
        self._cleared: asyncio.Task[None] | None = None
        self._take: Any = None  # the registered script

    async def take(self, key: str, rate: float, burst: int) -> float:
        if self._take is None:
            self._take = self.redis.register_script(TAKE)
        wait = await self._take(keys=[f"{self.prefix}:rate:{key}"],
                                args=[f"{self.clock():.6f}", repr(1.0 / rate), burst])
        return float(wait)

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
