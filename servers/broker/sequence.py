"""Sequences (1, 2, 3, …) that every worker draws from: a Socket.IO document's versions must
strictly increase whichever worker assigns them. ``next`` is atomic (Redis ``INCR``);
``current`` reads without moving. :class:`LocalSequences` is one process's."""

from __future__ import annotations

from typing import Any, Protocol


class Sequences(Protocol):
    async def next(self, key: str) -> int: ...
    async def current(self, key: str) -> int: ...


class LocalSequences:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def next(self, key: str) -> int:
        self.values[key] = self.values.get(key, 0) + 1
        return self.values[key]

    async def current(self, key: str) -> int:
        return self.values.get(key, 0)


class RedisSequences:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, name: str) -> str:
        """The Redis key of sequence ``name`` (a script may draw from it too)."""
        return f"{self.prefix}:{name}"

    async def next(self, key: str) -> int:
        return int(await self.redis.incr(self.key(key)))

    async def current(self, key: str) -> int:
        return int(await self.redis.get(self.key(key)) or 0)
