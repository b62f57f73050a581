"""Events between mutations and subscriptions, behind a small interface.

:class:`PubSub` is what resolvers see: ``await publish(topic, event)`` and
``async with subscribe(topic) as events: async for event in events``. :class:`LocalPubSub`
keeps it in one process; :class:`servers.broker.pubsub.RedisPubSub` implements the same
methods for worker processes that fan out together (``--workers N --broker redis://…``).

Fan-out never waits on a subscriber: every subscriber has a bounded queue and ``publish``
only ``put_nowait``s. A subscriber whose queue is full is *evicted* — removed, its stream
ended with :class:`SlowConsumer`, and its ``on_overflow`` callback run (the WebSocket layer
uses it to abort that connection, so the client notices and resubscribes) — rather than
silently losing events or stalling everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

QUEUE_LIMIT = 1024

_END = object()


class SlowConsumer(Exception):
    """The subscriber fell more than its queue limit behind and was dropped."""


class PubSub(Protocol):
    async def subscribers(self, topic: str) -> int:
        """How many subscribers ``topic`` has now (on this broker, all processes)."""
        ...

    async def publish(self, topic: str, event: Any) -> int:
        """Deliver ``event`` to every current subscriber of ``topic``; returns how many."""
        ...

    def subscribe(
        self, topic: str, *, on_overflow: Callable[[], None] | None = None
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Any]]:
        """Events published to ``topic`` from now on, until the context exits."""
        ...


class _Subscriber:
    def __init__(self, limit: int, on_overflow: Callable[[], None] | None) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(limit + 1)  # +1: room for the end mark
        self.limit = limit
        self.on_overflow = on_overflow
        self.evicted = False

    async def events(self) -> AsyncIterator[Any]:
        while True:
            event = await self.queue.get()
            if event is _END:
                raise SlowConsumer(f"more than {self.limit} events behind: subscription dropped")
            yield event


class LocalPubSub:
    """In-process fan-out with per-subscriber bounded queues (see the module docstring)."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.limit = limit
        self._topics: dict[str, set[_Subscriber]] = {}
        self.evictions = 0

    async def subscribers(self, topic: str) -> int:
        return self.local_subscribers(topic)

    def local_subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    async def publish(self, topic: str, event: Any) -> int:
        delivered = 0
        for sub in list(self._topics.get(topic, ())):
            if sub.queue.qsize() >= self.limit:
                self._evict(topic, sub)
                continue
            sub.queue.put_nowait(event)
            delivered += 1
        return delivered

    def _evict(self, topic: str, sub: _Subscriber) -> None:
        self._remove(topic, sub)
        sub.evicted = True
        self.evictions += 1
        sub.queue.put_nowait(_END)
        if sub.on_overflow is not None:
            sub.on_overflow()

    def _remove(self, topic: str, sub: _Subscriber) -> None:
        subs = self._topics.get(topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._topics[topic]

    @contextlib.asynccontextmanager
    async def subscribe(
        self, topic: str, *, on_overflow: Callable[[], None] | None = None
    ) -> AsyncIterator[AsyncIterator[Any]]:
        sub = _Subscriber(self.limit, on_overflow)
        self._topics.setdefault(topic, set()).add(sub)
        try:
            yield sub.events()
        finally:
            self._remove(topic, sub)
