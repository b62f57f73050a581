"""SSE feeds shared by worker processes: one Redis stream per feed, one publisher for it.

A feed's events are numbered on a clock (:class:`servers.sse.Feed`): event ``n`` is due
``n * interval`` seconds after the feed's start, and its bytes depend on ``n`` and that start
only. With workers, the start is one shared wall-clock time (``SET … NX``), and the worker
that holds the feed's lock (redis-py's ``Lock``: a token, a TTL, renewed while held)
publishes each due event to the feed's stream (``XADD`` with id ``n-0``, trimmed to about
the feed's capacity). Every worker with readers of the feed — the publisher too — reads the
stream (``XREAD BLOCK``) into its own ring buffer, which its readers use exactly as in one
process. So an event has one id and the same bytes on every worker, and a client that
resumes with ``Last-Event-ID`` on another worker gets what it missed from that worker's
buffer: :meth:`StreamFeed.ready` first fetches whatever the stream has that the buffer lacks.

A publisher that dies loses its lock after :data:`LOCK_SECONDS`; the next worker to take
it publishes every event due since the last one in the stream (same ids, same timestamps):
readers wait a moment, and miss nothing. A worker whose readers all left stops reading
after :data:`IDLE_SECONDS` (and gives up the lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from servers.broker import Broker
from servers.sse import BATCH, CAPACITY, Feed, Topic

log = logging.getLogger("rtlab.broker")

LOCK_SECONDS = 2.0
RETRY_SECONDS = 0.25  # how often a worker that does not publish tries to take the lock
IDLE_SECONDS = 10.0
KEEP_SECONDS = 3600  # a feed nobody publishes any more is forgotten by Redis after this


def _number(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


class StreamFeed(Feed):
    def __init__(self, broker: Broker, topic: Topic, interval: float, now: float,
                 capacity: int = CAPACITY) -> None:
        super().__init__(topic, interval, now, time.time(), capacity)
        self.redis = broker.redis
        base = broker.key("sse", topic.path.strip("/").replace("/", ":"), repr(interval))
        self.stream, self.start_key, self.lock_key = base, f"{base}:t0", f"{base}:lock"
        self.appended = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None
        self.started = False
        self.publishing = False
        self.published = 0  # the newest id in the stream, as the publisher knows it

    # -- what Hub.stream uses ---------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Nothing: events arrive from the stream (:meth:`_run`)."""

    async def ready(self) -> None:
        if not self.started:
            await self.redis.set(self.start_key, repr(self.wall0), nx=True, ex=KEEP_SECONDS)
            wall0 = float(await self.redis.get(self.start_key) or self.wall0)
            loop = asyncio.get_running_loop()
            self.wall0 = wall0
            self.t0 = loop.time() - (time.time() - wall0)
            self.started = True
        await self._catch_up()
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._run())

    async def wait(self, n: int, now: float) -> None:
        if self.latest >= n:
            return
        if self.runner is None or self.runner.done():  # stopped by a Redis failure
            self.runner = asyncio.create_task(self._run())
        appended = self.appended
        # Woken by the stream; the timeout only bounds a wait for a publisher that moved.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(appended.wait(),
                                   max(self.due(n) - now, 0.0) + LOCK_SECONDS + RETRY_SECONDS)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.cancel()

    # -- the stream into the ring buffer ----------------------------------------------------
    def _append(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, fields in entries:
            n = _number(entry_id)
            if n <= self.latest:
                continue
            if n != self.latest + 1:  # trimmed away: the buffer restarts here, no holes
                self.items.clear()
                self.latest = n - 1
            self.items.append(fields[b"b"])
            self.latest = n
        if entries:
            self.appended.set()
            self.appended = asyncio.Event()

    async def _catch_up(self) -> None:
        if self.latest == 0:
            newest = await self.redis.xrevrange(self.stream, count=self.capacity)
            self._append(list(reversed(newest)))
        else:
            self._append(await self.redis.xrange(self.stream, min=f"({self.latest}-0"))

    # -- the publisher ----------------------------------------------------------------------
    async def _publish_due(self) -> None:
        loop = asyncio.get_running_loop()
        due = int((loop.time() - self.t0) / self.interval)
        if due <= self.published:
            return
        first = max(self.published + 1, due - self.capacity + 1)
        for start in range(first, due + 1, BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for n in range(start, min(start + BATCH, due + 1)):
                pipe.xadd(self.stream, {"b": self.encoded(n)}, id=f"{n}-0",
                          maxlen=self.capacity, approximate=True)
            pipe.expire(self.stream, KEEP_SECONDS)
            pipe.expire(self.start_key, KEEP_SECONDS)
            await pipe.execute()
        self.published = due

    async def _take_or_keep(self, lock: Any) -> bool:
        """Whether this worker publishes now (taking or renewing the feed's lock)."""
        if self.publishing:
            try:
                await lock.reacquire()
                return True
            except Exception:  # noqa: BLE001 - lost it (expired, taken): read like the rest
                self.publishing = False
                log.warning("broker: lost the lock of %s", self.stream)
                return False
        if await lock.acquire(blocking=False):
            self.publishing = True
            newest = await self.redis.xrevrange(self.stream, count=1)
            self.published = _number(newest[0][0]) if newest else 0
        return self.publishing

    async def _run(self) -> None:
        """Read the stream (and publish it while holding the lock) while readers are here."""
        loop = asyncio.get_running_loop()
        lock = self.redis.lock(self.lock_key, timeout=LOCK_SECONDS)
        idle_since: float | None = None
        next_try = 0.0
        try:
            while True:
                now = loop.time()
                if self.subscribers > 0:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since > IDLE_SECONDS:
                    return
                if self.publishing or now >= next_try:
                    if await self._take_or_keep(lock):
                        await self._publish_due()
                    next_try = now + RETRY_SECONDS
                if self.publishing:
                    block = self.due(self.published + 1) - loop.time()
                else:
                    block = RETRY_SECONDS
                block_ms = int(min(max(block, 0.001), LOCK_SECONDS / 3) * 1000) or 1
                answer = await self.redis.xread({self.stream: f"{self.latest}-0"},
                                                count=BATCH, block=block_ms)
                for _name, entries in answer or ():
                    self._append(entries)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis trouble: the next reader restarts us
            log.warning("broker: feed %s stopped: %s", self.stream, exc)
        finally:
            if self.publishing:
                self.publishing = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(lock.release())
