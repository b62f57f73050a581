"""The Redis side of ``--broker redis://HOST:PORT``: what worker processes share.

One :class:`Broker` per process holds the Redis client and builds the Redis versions of the
in-process seams, each in its own module:

- :mod:`.bus`: named channels over one Redis pub/sub connection (``/ws/chat`` rooms);
- :mod:`.pubsub`: GraphQL's :class:`servers.graphql.pubsub.PubSub` over the bus;
- :mod:`.feeds`: SSE feeds kept in Redis streams, one publisher per feed across workers;
- :mod:`.tokens`: refresh tokens, so a refresh works on any worker (and only once);
- :mod:`.counter`: the classroom limits' counters (``incr(key, window)``, ``adjust``);
- :mod:`.sequence`: numbers every worker draws from (document versions).

Socket.IO uses python-socketio's own ``AsyncRedisManager`` (:func:`socketio_manager`).
Every key and channel starts with :attr:`Broker.prefix`, so several servers can share one
Redis. Nothing here runs without ``--broker``: the laptop default stays in-process.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servers.app import Settings
    from servers.broker.bus import Bus
    from servers.broker.counter import RedisCounters
    from servers.broker.sequence import RedisSequences

PREFIX = "rtlab"

_opened: weakref.WeakSet[Broker] = weakref.WeakSet()


class Broker:
    """This process's connection to the shared Redis."""

    def __init__(self, url: str, *, worker: int = 0, workers: int = 1,
                 prefix: str = PREFIX) -> None:
        from redis import asyncio as aioredis

        from servers.broker.bus import Bus

        self.url = url
        self.worker = worker
        self.workers = workers
        self.prefix = prefix
        self.redis: Any = aioredis.Redis.from_url(url)
        self.bus: Bus = Bus(self.redis, self.key("bus"))
        _opened.add(self)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def counters(self) -> RedisCounters:
        """The classroom limits' counters, shared by the workers."""
        from servers.broker.counter import RedisCounters

        return RedisCounters(self.redis, self.key("count"), self.worker)

    def sequences(self) -> RedisSequences:
        from servers.broker.sequence import RedisSequences

        return RedisSequences(self.redis, self.key("seq"))

    def socketio_manager(self) -> Any:
        """python-socketio's Redis client manager: rooms and broadcasts across workers."""
        import socketio

        return socketio.AsyncRedisManager(self.url, channel=self.key("socketio"))


def connect(settings: Settings) -> Broker | None:
    """The broker ``settings`` name, or None (one process, everything in-process)."""
    if not settings.broker:
        return None
    return Broker(settings.broker, worker=settings.worker or 0, workers=settings.workers)


async def start_all() -> None:
    """Listen on the bus of every broker of this process before it says it serves, so no
    relayed operation (a class-wide drop) published after that is missed; an unreachable
    Redis fails the start with a clear ConnectionError."""
    for broker in list(_opened):
        await broker.bus.start()
