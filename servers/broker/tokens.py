"""Refresh tokens in the broker's Redis: issued by one worker, honoured by any, used once.

``take`` is ``GETDEL``: of two refreshes racing with one token on two workers, exactly one
gets the user. Keys expire with the token (``SET … EX``).
"""

from __future__ import annotations

from servers.broker import Broker


class RedisRefreshTokens:
    def __init__(self, broker: Broker) -> None:
        self.redis = broker.redis
        self.prefix = broker.key("refresh")

    async def put(self, token: str, username: str, ttl: float) -> None:
        await self.redis.set(f"{self.prefix}:{token}", username, ex=max(int(ttl), 1))

    async def take(self, token: str) -> str | None:
        value = await self.redis.getdel(f"{self.prefix}:{token}")
        return value.decode() if value is not None else None
