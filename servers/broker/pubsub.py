"""GraphQL subscriptions across worker processes: :class:`servers.graphql.pubsub.PubSub` over
the broker.

Each process keeps its own subscribers in a :class:`~servers.graphql.pubsub.LocalPubSub`
(bounded queues, slow-consumer eviction: unchanged), and listens on the bus channel of a
topic while it has subscribers to it. ``publish`` sends the event (:mod:`.codec`) to the
topic's channel; every process with subscribers hands it to them, the publisher included.

``subscribers(topic)`` counts across processes: each one keeps its counts in its own Redis
hash (``…:gql:subs:w<N>``), which it empties when it starts, so a worker that was killed and
started again leaves no stale count behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from servers.broker import Broker, codec
from servers.graphql.pubsub import QUEUE_LIMIT, LocalPubSub

log = logging.getLogger("rtlab.broker")


class RedisPubSub:
    def __init__(self, broker: Broker, limit: int = QUEUE_LIMIT) -> None:
        self.broker = broker
        self.local = LocalPubSub(limit)
        self._relays: dict[str, Callable[[bytes], Any]] = {}
        # Counts a killed predecessor of this worker left behind go before our first one.
        self._cleared = asyncio.get_running_loop().create_task(
            broker.redis.delete(self._counts(broker.worker)))

    def _counts(self, worker: int) -> str:
        return self.broker.key("gql", "subs", f"w{worker}")

    @property
    def evictions(self) -> int:
        return self.local.evictions

    async def subscribers(self, topic: str) -> int:
        pipe = self.broker.redis.pipeline(transaction=False)
        for worker in range(self.broker.workers):
            pipe.hget(self._counts(worker), topic)
        return sum(int(n or 0) for n in await pipe.execute())

    async def publish(self, topic: str, event: Any) -> int:
        """Send ``event`` to every process; returns how many subscribers ``topic`` has."""
        await self.broker.bus.publish(f"gql:{topic}", codec.dumps(event))
        return await self.subscribers(topic)

    async def _relay(self, topic: str) -> None:
        if topic in self._relays:
            return

        async def deliver(raw: bytes) -> None:
            try:
                event = codec.loads(raw)
            except codec.UnknownEvent as exc:
                log.warning("broker: dropped an event on %s: %s", topic, exc)
                return
            await self.local.publish(topic, event)

        self._relays[topic] = deliver
        await self.broker.bus.listen(f"gql:{topic}", deliver)

    def _unrelay(self, topic: str) -> None:
        deliver = self._relays.pop(topic, None)
        if deliver is not None:
            self.broker.bus.unlisten(f"gql:{topic}", deliver)

    async def _count(self, topic: str, delta: int) -> None:
        key = self._counts(self.broker.worker)
        await self._cleared
        if await self.broker.redis.hincrby(key, topic, delta) <= 0:
            await self.broker.redis.hdel(key, topic)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, topic: str, *, on_overflow: Callable[[], None] | None = None
    ) -> AsyncIterator[AsyncIterator[Any]]:
        async with self.local.subscribe(topic, on_overflow=on_overflow) as events:
            try:
                await self._relay(topic)
                await self._count(topic, +1)
                yield events
            finally:
                if self.local.local_subscribers(topic) <= 1:  # we are the last one here
                    self._unrelay(topic)
                with contextlib.suppress(Exception):
                    await self._count(topic, -1)
