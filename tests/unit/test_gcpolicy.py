"""servers.gcpolicy.Reclaimer: a full collection after many sessions closed."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

import pytest

from servers import gcpolicy
from servers.sioguard import GuardedEngineIO


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only a collection frees it


@pytest.fixture
def no_automatic_gc():
    was = gc.isenabled()
    gc.disable()
    yield
    if was:
        gc.enable()


async def test_enough_closed_sessions_free_their_cycles(no_automatic_gc) -> None:
    reclaimer = gcpolicy.Reclaimer(delay=0, min_closed=3)
    node = Node()
    dead = weakref.ref(node)
    del node
    reclaimer.closed(open_now=0)
    reclaimer.closed(open_now=0)
    assert not reclaimer.pending and dead() is not None  # two are not enough
    reclaimer.closed(open_now=0)
    assert reclaimer.pending
    await asyncio.wait_for(reclaimer.reclaimed.wait(), 5)
    assert dead() is None
    assert reclaimer.freed >= 1 and reclaimer.collections == 1


async def test_the_open_sessions_set_how_many_closures_it_takes() -> None:
    calls: list[int] = []
    reclaimer = gcpolicy.Reclaimer(delay=0, min_closed=2, collect=lambda: calls.append(1) or 0)
    for _ in range(9):
        reclaimer.closed(open_now=10)
    assert not reclaimer.pending
    reclaimer.closed(open_now=10)
    assert reclaimer.pending
    await asyncio.wait_for(reclaimer.reclaimed.wait(), 5)
    assert calls == [1]


async def test_engineio_disconnects_are_counted() -> None:
    eio = GuardedEngineIO(async_mode="asgi")
    assert eio.reclaimer.delay > eio.ping_timeout  # engineio has dropped the session by then
    await eio._trigger_event("disconnect", "sid1", "client disconnect", run_async=False)
    await eio._trigger_event("connect", "sid2", {}, run_async=False)
    assert eio.reclaimer.closed_since == 1


async def test_a_reclaim_lets_go_of_names_the_type_cache_held() -> None:
    """engineio looks up ``'_upgrade_' + transport``: a new string each upgrade, which
    CPython's type method cache keeps alive (and its pymalloc arena with it) until cleared."""
    reclaimer = gcpolicy.Reclaimer(delay=0, min_closed=1)
    name = "".join(["_upgrade_", "websocket", "_probe"])  # built at run time, not interned
    before = sys.getrefcount(name)
    getattr(Node, name, None)  # a lookup (a miss is cached too)
    assert sys.getrefcount(name) > before  # the cache holds it (an entry per type looked in)
    reclaimer.closed(open_now=0)
    await asyncio.wait_for(reclaimer.reclaimed.wait(), 5)
    assert sys.getrefcount(name) == before
