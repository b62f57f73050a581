"""A ledger of numbered messages: what a client promised, what arrived, and when.

:class:`Ledger` is the bookkeeping of a fault-matrix probe (:mod:`rtlab.teaching.probes`):
``made`` holds each message the client promised to deliver and when it was made, ``got`` each
receipt in arrival order. From them: what was lost, what came twice, when delivery resumed.
:func:`outages` and :func:`split_lost` tell a subscription's losses in a gap (which it does
not promise to avoid) from the others. Times are seconds on the clients' clock
(``time.monotonic``, as every :class:`~rtlab.state.Timeline`); no I/O here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from rtlab.state import ConnectionState, Event, Timeline

S = ConnectionState


class Ledger:
    """Numbered messages made and received, with times; a probe's bookkeeping.

    ``made[key]`` is when a message the client promised to deliver was made (sent, called,
    published); ``got`` lists receipts in arrival order as ``(key, time)``. Keys are any
    hashable (an SSE probe uses ``(feed, id)``). :meth:`until` waits on receipts and on the
    client's own timeline events, never by polling.
    """

    def __init__(self, *watched: Timeline) -> None:
        self.made: dict[Hashable, float] = {}
        self.got: list[tuple[Hashable, float]] = []
        self.watched = watched
        self._wakers: set[Callable[[], None]] = set()

    def make(self, key: Hashable, at: float | None = None) -> None:
        self.made[key] = time.monotonic() if at is None else at
        self.wake()

    def receive(self, key: Hashable, at: float | None = None) -> None:
        self.got.append((key, time.monotonic() if at is None else at))
        self.wake()

    def wake(self) -> None:
        """Wake whoever waits in :meth:`until` (something the predicate reads changed)."""
        for wake in list(self._wakers):
            wake()

    def first_after(self, t: float) -> float | None:
        """When the first receipt after ``t`` arrived (None: none yet)."""
        return next((at for _key, at in self.got if at > t), None)

    def received_keys(self) -> list[Hashable]:
        return [key for key, _at in self.got]

    def lost(self) -> list[Hashable]:
        """Keys made and never received."""
        seen = set(self.received_keys())
        return [key for key in self.made if key not in seen]

    def duplicated(self) -> int:
        """Receipts beyond the first of their key."""
        keys = self.received_keys()
        return len(keys) - len(set(keys))

    async def until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """True once ``predicate()`` holds (checked after each receipt and client event);
        False when ``timeout`` seconds pass first."""
        if predicate():
            return True
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake(*_args: Any) -> None:
            loop.call_soon_threadsafe(woken.set)

        self._wakers.add(wake)
        unsubscribe = [timeline.subscribe(wake) for timeline in self.watched]
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    woken.clear()
                    await woken.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._wakers.discard(wake)
            for undo in unsubscribe:
                undo()


def outages(transitions: Iterable[Event], ledger: Ledger) -> list[tuple[float, float]]:
    """Every outage after the first ``connected``, as ``(from, to)``: from when the last
    message that got through before the client left ``connected`` was made (a frozen link
    dies before anyone notices) to ``connected`` again (``inf`` for one not over)."""
    out: list[tuple[float, float]] = []
    live, down = False, None
    for event in transitions:
        if event.state is S.CONNECTED:
            if down is not None:
                out.append((down, event.t))
            live, down = True, None
        elif live and down is None and event.state is not S.CONNECTING:
            made = ledger.made
            down = max((made[key] for key, at in ledger.got if at <= event.t and key in made),
                       default=event.t)
    if down is not None:
        out.append((down, float("inf")))
    return out


def split_lost(ledger: Ledger, gaps: Iterable[tuple[float, float]],
               settle: float) -> tuple[list[Hashable], list[Hashable]]:
    """The ledger's lost messages in two lists: made during a gap (or up to ``settle``
    seconds after it, while the server takes a new ``subscribe``), which a subscription
    does not promise; and the others, which it does."""
    gaps = list(gaps)
    in_gap: list[Hashable] = []
    outside: list[Hashable] = []
    for key in ledger.lost():
        at = ledger.made[key]
        (in_gap if any(down <= at <= up + settle for down, up in gaps) else outside).append(key)
    return in_gap, outside
