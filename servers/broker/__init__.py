"""The Redis side of ``--broker redis://HOST:PORT``: what worker processes share.

One :class:`Broker` per process holds the Redis client and builds the Redis versions of the
in-process seams, each in its own module:

- :mod:`.bus`: named channels over one Redis pub/sub connection (``/ws/chat`` rooms);
- :mod:`.pubsub`: GraphQL's :class:`servers.graphql.pubsub.PubSub` over the bus;
- :mod:`.feeds`: SSE feeds kept in Redis streams, one publisher per feed across workers;
- :mod:`.tokens`: refresh tokens, so a refresh works on any worker (and only once);
- :mod:`.counter`: the classroom limits' counters (``take(key, rate, burst)``, ``adjust``);
- :mod:`.sequence`: numbers every worker draws from (document versions);
- :mod:`.rooms`: who is in each Socket.IO room, listed from every worker;
- :mod:`.dedupe`: the first answer to each ``clientId``, whichever worker a retry reaches;
- :mod:`.calls`: the ``flaky`` event's call counts.

Socket.IO uses python-socketio's own ``AsyncRedisManager`` (:func:`socketio_manager`).
Every key and channel starts with :attr:`Broker.prefix`, so several servers can share one
Redis. Nothing here runs without ``--broker``: the laptop default stays in-process.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from servers.app import Settings
    from servers.broker.bus import Bus
    from servers.broker.calls import RedisCalls
    from servers.broker.counter import RedisCounters
    from servers.broker.dedupe import RedisDedupe
    from servers.broker.rooms import RedisMembers
    from servers.broker.sequence import RedisSequences

PREFIX = "rtlab"
#: connections to Redis one process opens at most, and how long a command waits for one
MAX_CONNECTIONS = 100
POOL_WAIT_SECONDS = 10.0

_opened: weakref.WeakSet[Broker] = weakref.WeakSet()


def tuple_key(prefix: str, parts: tuple[str, ...]) -> str:
    """One Redis key per tuple of names clients chose: each part is quoted, so a ``:`` inside
    one (classroom client ids, ``clientId``s and room names may hold one) cannot make two
    tuples one key."""
    return ":".join((prefix, *(quote(part, safe="") for part in parts)))


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
        # a class joining at once asks more at a time than the pool holds: wait for a free
        # connection (redis-py's default pool raises MaxConnectionsError past 100)
        self.redis: Any = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS))
        self.bus: Bus = Bus(self.redis, self.key("bus"))
        #: run by :func:`start_all`, before the process says it serves
        self.at_start: list[Callable[[], Awaitable[None]]] = []
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

    def members(self) -> RedisMembers:
        """Socket.IO room members; this worker's predecessor's are cleared at start."""
        from servers.broker.rooms import RedisMembers

        members = RedisMembers(self.redis, self.key("members"), self.worker, self.workers)
        self.at_start.append(members.clear_mine)
        return members

    def dedupe(self, sequences: RedisSequences) -> RedisDedupe:
        from servers.broker.dedupe import RedisDedupe

        return RedisDedupe(self.redis, self.key("dedupe"), sequences)

    def calls(self) -> RedisCalls:
        from servers.broker.calls import RedisCalls

        return RedisCalls(self.redis, self.key("calls"))

    def socketio_manager(self) -> Any:
        """python-socketio's Redis client manager: rooms and broadcasts across workers, each
        worker delivering to its own clients through the fan-out fast path (servers.fanout)."""
        import socketio

        from servers import fanout

        return fanout.fast(socketio.AsyncRedisManager)(self.url, channel=self.key("socketio"))


def connect(settings: Settings) -> Broker | None:
    """The broker ``settings`` name, or None (one process, everything in-process)."""
    if not settings.broker:
        return None
    return Broker(settings.broker, worker=settings.worker or 0, workers=settings.workers)


async def start_all() -> None:
    """Listen on the bus of every broker of this process before it says it serves, so no
    relayed operation (a class-wide drop) published after that is missed, and run what must
    be done before the first client (:attr:`Broker.at_start`); an unreachable Redis fails
    the start with a clear ConnectionError."""
    for broker in list(_opened):
        await broker.bus.start()
        for job in broker.at_start:
            await job()
