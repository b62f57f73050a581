"""How many times each key has been called: Socket.IO's ``flaky`` event leaves the first N
calls with one key unanswered, so a retry that reaches another worker must see the count go
on, not start again.

``count(key)`` answers this call's number (1 for the first).

- :class:`LocalCalls`: one process's counts, the last :data:`WINDOW` keys.
- :class:`RedisCalls`: ``INCR`` and ``PEXPIRE`` in one transaction (one round trip); a count
  is forgotten :data:`TTL_MS` after its last call.
"""

from __future__ import annotations

from typing import Any, Protocol

from servers.broker import tuple_key

#: how many keys one process remembers
WINDOW = 1000
#: how long Redis remembers a key after its last call
TTL_MS = 10 * 60 * 1000


class Calls(Protocol):
    async def count(self, key: tuple[str, ...]) -> int: ...


class LocalCalls:
    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.counts: dict[tuple[str, ...], int] = {}

    async def count(self, key: tuple[str, ...]) -> int:
        calls = self.counts.get(key, 0) + 1
        self.counts[key] = calls
        if len(self.counts) > self.window:
            self.counts.pop(next(iter(self.counts)))
        return calls


class RedisCalls:
    def __init__(self, redis: Any, prefix: str, ttl_ms: int = TTL_MS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = ttl_ms

    async def count(self, key: tuple[str, ...]) -> int:
        name = tuple_key(self.prefix, key)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.pexpire(name, self.ttl_ms)
        calls, _ = await pipe.execute()
        return int(calls)
