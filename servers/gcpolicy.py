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
  collections still run when generation 2 has grown by a quarter (CPython's own rule), so
  cyclic garbage from closed connections is still reclaimed (``benchmarks/classroom_churn.py``).

Measured with both, same load: one collection over 5 ms in the 60 s window (a young one,
173 ms on a machine whose two cores the load generator and other jobs shared), p99 139 ms;
the other settings tried (``benchmarks`` runs of the same load, 60 s each): freeze alone
p99 153 ms with young-generation collections up to 147 ms; thresholds (20,000, 20, 10) or
(100,000, 10, 10), frozen or not, p99 140-150 ms and no collection over 5 ms. A full
collection still has to walk the live connections now and then: shorter by the frozen part.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 10, 10)


def apply() -> None:
    """Freeze what start-up built and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
