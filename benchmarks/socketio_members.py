"""A class of 1,000 joining one Socket.IO room at once: what listing its members costs.

Every ``join`` ack lists the room's members, so a class joining costs O(N²) names. Two rows:

- in-process (the default): :class:`servers.broker.rooms.LocalMembers` against the listing
  python-socketio's own manager gives (``get_participants``, display names, sorted), both
  with the room entered through the same ``AsyncServer``; it must not be slower;
- Redis (``--broker``): :class:`servers.broker.rooms.RedisMembers` on worker 0 of 2, the
  class joining one room at once against the same joins into a room each (the round trips
  alone); the names must not cost more than the round trips.

No demo server: the seams in this process, Redis a private ``redis-server``
(:mod:`servers.broker.redisproc`). ``python -m benchmarks socketio_members``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.report import Row
from servers.broker import Broker
from servers.broker.redisproc import RedisProcess
from servers.broker.rooms import LocalMembers
from servers.socketio import SocketIOService

CLASS = 1000
ROUNDS = 5
NS = "/chat"
#: in-process listing / python-socketio's listing
LOCAL_TARGET = 1.0
#: one room / a room each, on Redis
REDIS_TARGET = 3.0


async def _in_process(listing: str) -> float:
    """Seconds for the class to join one room, one after another, each join listed."""
    service = SocketIOService()
    sio, names, members = service.sio, service._names, LocalMembers()
    sids = [await sio.manager.connect(f"eio{n}", NS) for n in range(CLASS)]
    for n, sid in enumerate(sids):
        names[(NS, sid)] = f"student{n:04}"
    started = time.perf_counter()
    for sid in sids:
        await sio.enter_room(sid, "room:class", namespace=NS)
        if listing == "python-socketio":
            listed = sorted(names.get((NS, s), s)
                            for s, _eio in sio.manager.get_participants(NS, "room:class"))
        else:
            listed = await members.join(NS, "room:class", sid, names[(NS, sid)])
    elapsed = time.perf_counter() - started
    assert len(listed) == CLASS
    return elapsed


async def _on_redis(url: str, one_room: bool) -> float:
    """Seconds for the class to join at once through Redis."""
    broker = Broker(url, worker=0, workers=2)
    members = broker.members()
    try:
        await asyncio.gather(*(broker.redis.ping() for _ in range(50)))  # connections open
        started = time.perf_counter()
        acks = await asyncio.gather(*(
            members.join(NS, "room:class" if one_room else f"room:{n}", f"w0-{n}",
                         f"student{n:04}") for n in range(CLASS)))
        elapsed = time.perf_counter() - started
        assert max(len(ack) for ack in acks) == (CLASS if one_room else 1)
        await broker.redis.flushdb()
        return elapsed
    finally:
        await broker.redis.aclose()


async def _measure() -> dict[str, Any]:
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(ROUNDS):
        for listing in ("python-socketio", "rtlab"):
            keep(listing, await _in_process(listing))
    redis = RedisProcess.start()
    try:
        for _ in range(ROUNDS):
            for one_room in (False, True):
                keep("one room" if one_room else "a room each",
                     await _on_redis(redis.url, one_room))
    finally:
        redis.stop()
    return best


def run(_server: Any = None) -> list[Row]:
    best = asyncio.run(_measure())
    local = best["rtlab"] / best["python-socketio"]
    shared = best["one room"] / best["a room each"]
    return [
        Row(f"Socket.IO join acks listing a class of {CLASS}, in-process (best of {ROUNDS})",
            f"{best['python-socketio'] * 1000:.1f} ms python-socketio's participants",
            f"{best['rtlab'] * 1000:.1f} ms LocalMembers",
            f"{local:.2f}x (target <= {LOCAL_TARGET:g}x)", local <= LOCAL_TARGET),
        Row(f"Socket.IO join acks, a class of {CLASS} at once through Redis (best of {ROUNDS})",
            f"{best['a room each'] * 1000:.0f} ms a room each (round trips only)",
            f"{best['one room'] * 1000:.0f} ms one room (every ack lists the class)",
            f"{shared:.2f}x (target <= {REDIS_TARGET:g}x)", shared <= REDIS_TARGET),
    ]


if __name__ == "__main__":
    from benchmarks.report import table

    print(table(run()))
