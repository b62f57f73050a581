"""Garbage-collector settings for a server holding thousands of connections.

CPython 3.11's collector stops the world, and a full (generation 2) collection walks every
container object the process holds: about 200 per Socket.IO connection (engineio keeps some
30 coroutines suspended per session, plus their tasks, futures, queues and timers), so at
1,500 clients a full collection walks some 370,000 objects and takes about 300 ms on this
kind of machine. With the default thresholds (700, 10, 10) the objects of engineio's ping
cycle (alive for its 10 s interval) survive the young collections and pile into generation 2
fast enough for a full collection every ~20 s: measured over 60 s of 2 broadcasts/s to 1,500
clients (``benchmarks/classroom.py``'s load), three full collections, the longest 1.06 s,
and p99 delivery 1,152 ms. Two settings, applied once the server is up:

- ``gc.freeze()`` after a ``gc.collect()``: what start-up built (modules, the schema, the app;
  about 75,000 objects) moves to the permanent generation, which no collection walks again.
  Collected first, so no garbage is frozen; what is frozen lives as long as the process.
- ``gc.set_threshold(20_000, 10, 10)``: a young collection after 20,000 net new container
  objects instead of 700, so short-lived objects (a broadcast's, a ping cycle's) are mostly
  freed by reference counting before any collection sees them, and few are promoted. Full
  collections still run when generation 2 has grown by a quarter (CPython's own rule), but
  only after some 2,000,000 net new objects: cyclic garbage from closed connections waits for
  :class:`Reclaimer` (below).

Measured with both, same load: one collection over 5 ms in the 60 s window (a young one,
173 ms on a machine whose two cores the load generator and other jobs shared), p99 139 ms;
the other settings tried (``benchmarks`` runs of the same load, 60 s each): freeze alone
p99 153 ms with young-generation collections up to 147 ms; thresholds (20,000, 20, 10) or
(100,000, 10, 10), frozen or not, p99 140-150 ms and no collection over 5 ms. A full
collection still has to walk the live connections now and then: shorter by the frozen part.

The raised thresholds have a cost on churn: a closed Engine.IO session leaves some 120 objects
in reference cycles (tasks, frames, tracebacks of the exceptions that ended it), promoted to
generation 2 by then, and a full collection comes only after about 2,000,000 net new objects
(20,000 x 10 x 10). Measured with ``benchmarks/classroom_churn.py`` (10 rounds of 1,000
clients): RSS 66 -> 266 MB, 4,487 dead sessions still held, 563,220 objects freed by one
``gc.collect()``. :class:`Reclaimer` runs a full collection when many sessions have closed,
then returns the freed heap to the system (glibc's ``malloc_trim``; all of it with the server
on the C library's allocator, ``PYTHONMALLOC=malloc``, as ``make classroom`` runs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Callable

THRESHOLDS = (20_000, 10, 10)
#: closed sessions that always justify a full collection (fewer: only when none is open)
MIN_CLOSED = 256


def apply() -> None:
    """Freeze what start-up built and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def _malloc_trim() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``: give free heap pages back to the system (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
        return lambda: trim(0)
    return lambda: None


class Reclaimer:
    """A full collection once as many sessions have closed since the last one as are open now
    (at least :data:`MIN_CLOSED`), ``delay`` seconds later: engineio drops a closed session
    from its table within its ping timeout, and only then is the session garbage.

    Garbage from closed connections thus never outgrows the live set, and a class that leaves
    pays one collection (a few hundred ms at most) instead of holding its memory for good."""

    def __init__(self, delay: float, min_closed: int = MIN_CLOSED,
                 collect: Callable[[], int] = gc.collect) -> None:
        self.delay = delay
        self.min_closed = min_closed
        self.closed_since = 0
        self.pending = False
        self.freed = 0  # objects the last collection freed
        self.collections = 0
        self.reclaimed = asyncio.Event()  # set after each collection (tests wait on it)
        self._collect = collect
        self._trim = _malloc_trim()

    def closed(self, open_now: int) -> None:
        """One session closed; ``open_now`` are still open. Call from the event loop."""
        self.closed_since += 1
        if not self.pending and self.closed_since >= max(self.min_closed, open_now):
            self._arm()

    def reclaim(self) -> None:
        self.pending = False
        self.freed = self._collect()
        # CPython's type method cache keeps alive the attribute names it was last asked for
        # (engineio's '_upgrade_' + transport, one new string per upgrade): small blocks that
        # pin whole pymalloc arenas after a class has left
        sys._clear_type_cache()
        self._trim()
        self.collections += 1
        self.reclaimed.set()
        if self.closed_since >= self.min_closed:  # closed while this one waited
            self._arm()

    def _arm(self) -> None:
        """A collection ``delay`` seconds from now, for the sessions counted so far."""
        self.pending = True
        self.closed_since = 0
        asyncio.get_running_loop().call_later(self.delay, self.reclaim)
