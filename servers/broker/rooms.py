"""Who is in each Socket.IO room, as display names, across workers.

python-socketio's manager knows this process's clients only (``get_participants`` stays local
under ``AsyncRedisManager``), so the ``join`` / ``leave`` acks read their members here:

- ``join(namespace, room, sid, name)`` and ``leave(namespace, room, sid)`` answer the room's
  names afterwards, sorted, one per connection (alice connected twice is listed twice);
- ``gone(namespace, sid, rooms)`` forgets a client in several rooms and answers nothing
  (a disconnect, a ``/collab`` leave).

:class:`LocalMembers` is one process's dict. :class:`RedisMembers` keeps one hash per worker
per room (``…:w<N>:<namespace>:<room>``, sid -> name): a join or leave writes this worker's
hash and reads every worker's in one Lua script (one round trip), a ``gone`` is one more.
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

#: between two names in :data:`WRITE`'s answer (display names never hold one)
SEPARATOR = "\n"
#: KEYS[1]: this worker's hash of the room; KEYS[2…]: every worker's. ARGV: sid, and its name
#: (absent: the sid leaves). Answers every worker's names in one string: one bulk reply to
#: parse instead of one per name, which is what a class of 1,000 joining at once costs most.
WRITE = r"""
if ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local names = {}
for i = 2, #KEYS do
  for _, name in ipairs(redis.call('HVALS', KEYS[i])) do names[#names + 1] = name end
end
return table.concat(names, '\n')
"""


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


class InOrder:
    """Operations that share a key run one after another, in the order they were asked for;
    others run concurrently. Socket.IO handlers run concurrently: a disconnect's ``gone``
    must not reach Redis before the ``join`` still in flight, or it leaves a ghost."""

    def __init__(self) -> None:
        self._last: dict[str, asyncio.Future[None]] = {}  # key -> its last operation's end

    async def run(self, key: str, operation: Callable[[], Awaitable[T]]) -> T:
        before = self._last.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[key] = done
        try:
            if before is not None:
                await asyncio.shield(before)
            return await operation()
        finally:
            done.set_result(None)
            if self._last.get(key) is done:
                del self._last[key]


class RedisMembers:
    def __init__(self, redis: Any, prefix: str, worker: int, workers: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.worker = worker
        self.workers = workers
        self._order = InOrder()
        self._write_script: Any = None

    def _hash(self, worker: int, namespace: str, room: str) -> str:
        return f"{self.prefix}:w{worker}:{namespace}:{room}"

    async def join(self, namespace: str, room: str, sid: str, name: str) -> list[str]:
        return await self._order.run(sid, lambda: self._write(namespace, room, sid, name))

    async def leave(self, namespace: str, room: str, sid: str) -> list[str]:
        return await self._order.run(sid, lambda: self._write(namespace, room, sid, None))

    async def gone(self, namespace: str, sid: str, rooms: Iterable[str]) -> None:
        names = [self._hash(self.worker, namespace, room) for room in rooms]
        if not names:
            return

        async def forget() -> None:
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.hdel(name, sid)
            await pipe.execute()

        await self._order.run(sid, forget)

    async def _write(self, namespace: str, room: str, sid: str, name: str | None) -> list[str]:
        """Set ``sid``'s name in this worker's hash (None: remove it), then read every
        worker's: one script, one round trip, one string back."""
        if self._write_script is None:
            self._write_script = self.redis.register_script(WRITE)
        keys = [self._hash(worker, namespace, room) for worker in range(self.workers)]
        keys.insert(0, keys[self.worker])
        blob = await self._write_script(keys=keys, args=[sid] if name is None else [sid, name])
        return sorted(blob.decode().split(SEPARATOR)) if blob else []

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
