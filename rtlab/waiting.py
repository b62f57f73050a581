"""Await a condition on a timeline instead of polling it with ``sleep``.

Listeners may fire on any thread; the waiter is woken on its own loop with
``call_soon_threadsafe``. Used by notebooks and tests alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rtlab.state import ConnectionState, Event, Timeline


async def until(
    timeline: Timeline, predicate: Callable[[Timeline], bool], timeout: float | None = None
) -> None:
    """Return as soon as ``predicate(timeline)`` is true (checked now and after each event)."""
    if predicate(timeline):
        return
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def listener(_event: Event) -> None:
        loop.call_soon_threadsafe(woken.set)

    unsubscribe = timeline.subscribe(listener)
    try:

        async def wait() -> None:
            while not predicate(timeline):
                woken.clear()
                await woken.wait()

        await asyncio.wait_for(wait(), timeout)
    finally:
        unsubscribe()


async def until_state(
    source: object, state: ConnectionState | str, timeout: float | None = None
) -> None:
    """Wait until a client (anything with ``.timeline`` and ``.state``) is in ``state``."""
    target = ConnectionState(state)
    await until(source.timeline, lambda _t: source.state == target, timeout)  # type: ignore[attr-defined]


async def until_count(
    timeline: Timeline, kind: str, n: int, timeout: float | None = None
) -> None:
    """Wait until the timeline holds at least ``n`` events of ``kind``."""
    await until(timeline, lambda t: len(t.of_kind(kind)) >= n, timeout)
