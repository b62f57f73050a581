"""Who is in each Socket.IO room, as display names, across workers.

python-socketio's manager knows this process's clients only (``get_participants`` stays local
under ``AsyncRedisManager``), so the ``join`` / ``leave`` acks read their members here:

- ``join(namespace, room, sid, name)`` and ``leave(namespace, room, sid)`` answer the room's
  names afterwards, sorted, one per connection (alice connected twice is listed twice);
- ``gone(namespace, sid, rooms)`` forgets a client in several rooms and answers nothing
  (a disconnect, a ``/collab`` leave).

:class:`LocalMembers` is one process's dict. :class:`RedisMembers` keeps one hash per worker
per room (``…:w<N>:<namespace>:<room>``, sid -> name): a join or leave writes this worker's
hash and reads every worker's in one transaction (one round trip), a ``gone`` is one more.
A worker clears its own hashes when it starts (:meth:`RedisMembers.clear_mine`, before it
serves), so the clients of a worker killed with SIGKILL are listed only until the master has
started it again. One client's operations reach Redis in the order they were made, so a
leave can never overtake the join before it and leave a ghost behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Members(Protocol):
    async def join(self, namespace: str, room: str, sid: str, name: str) -> list[str]: ...
    async def leave(self, namespace: str, room: str, sid: str) -> list[str]: ...
    async def gone(self, namespace: str, sid: str, rooms: Iterable[str]) -> None: ...


class LocalMembers:
    def __init__(self) -> None:
        self.rooms: dict[tuple[str, str], dict[str, str]] = {}  # (namespace, room) -> sid -> name

    async def join(self, namespace: str, room: str, sid: str, name: str) -> list[str]:
        members = self.rooms.setdefault((namespace, room), {})
        members[sid] = name
        return sorted(members.values())

    async def leave(self, namespace: str, room: str, sid: str) -> list[str]:
        self._drop(namespace, room, sid)
        members = self.rooms.get((namespace, room))
        return sorted(members.values()) if members else []

    async def gone(self, namespace: str, sid: str, rooms: Iterable[str]) -> None:
        for room in rooms:
            self._drop(namespace, room, sid)

    def _drop(self, namespace: str, room: str, sid: str) -> None:
        members = self.rooms.get((namespace, room))
        if members is not None:
            members.pop(sid, None)
            if not members:
                del self.rooms[(namespace, room)]


class RedisMembers:
    def __init__(self, redis: Any, prefix: str, worker: int, workers: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.worker = worker
        self.workers = workers
        self._last: dict[str, asyncio.Future[None]] = {}  # sid -> its operation in flight

    def _hash(self, worker: int, namespace: str, room: str) -> str:
        return f"{self.prefix}:w{worker}:{namespace}:{room}"

    async def join(self, namespace: str, room: str, sid: str, name: str) -> list[str]:
        return await self._in_order(sid, lambda: self._write_and_list(
            namespace, room, lambda pipe, mine: pipe.hset(mine, sid, name)))

    async def leave(self, namespace: str, room: str, sid: str) -> list[str]:
        return await self._in_order(sid, lambda: self._write_and_list(
            namespace, room, lambda pipe, mine: pipe.hdel(mine, sid)))

    async def gone(self, namespace: str, sid: str, rooms: Iterable[str]) -> None:
        names = [self._hash(self.worker, namespace, room) for room in rooms]
        if not names:
            return

        async def forget() -> None:
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.hdel(name, sid)
            await pipe.execute()

        await self._in_order(sid, forget)

    async def _write_and_list(self, namespace: str, room: str,
                              write: Callable[[Any, str], Any]) -> list[str]:
        pipe = self.redis.pipeline(transaction=True)
        write(pipe, self._hash(self.worker, namespace, room))
        for worker in range(self.workers):
            pipe.hvals(self._hash(worker, namespace, room))
        _written, *per_worker = await pipe.execute()
        return sorted(name.decode() for names in per_worker for name in names)

    async def _in_order(self, sid: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` after ``sid``'s previous one has reached Redis (handlers run
        concurrently: a disconnect's ``gone`` must not pass the ``join`` still in flight)."""
        before = self._last.get(sid)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[sid] = done
        try:
            if before is not None:
                await asyncio.shield(before)
            return await operation()
        finally:
            done.set_result(None)
            if self._last.get(sid) is done:
                del self._last[sid]

    async def clear_mine(self) -> None:
        """Forget the members a killed predecessor under this worker number left."""
        batch: list[bytes] = []
        async for name in self.redis.scan_iter(match=f"{self.prefix}:w{self.worker}:*",
                                               count=1000):
            batch.append(name)
            if len(batch) >= 500:
                await self.redis.unlink(*batch)
                batch.clear()
        if batch:
            await self.redis.unlink(*batch)
