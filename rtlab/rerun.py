"""Cells that can run again: what a cell made last time is closed when it makes new ones.

A student re-runs cells. A cell that creates a client and runs twice would leave the
first client running in the background, still connected, still counted by the
server, still drawing into a widget nobody sees. :func:`keep` gives the things a cell
makes a name; when the cell runs again and hands over new things under the same name,
the old ones are closed first::

    ticker = lab.keep("ticker", ReconnectingWebSocket(url))
    alice, bob = lab.keep("chat users", SocketIOClient(url), SocketIOClient(url))

Closing calls the object's own clean-up, the first one it has of ``dispose`` (the
chapter ports: their ``disconnect`` keeps the chapter's bugs), ``aclose``, ``close``,
``disconnect``; awaitable ones run as a task on the kernel's loop, and
:func:`closed` waits for them. A failure to close is kept in :data:`failures` (and
never raised into the cell that only wanted a fresh client). Nothing here touches
the client classes: any object with one of those methods can be kept.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, TypeVar

T = TypeVar("T")

#: The clean-up methods tried, in order: the first one an object has is called.
CLOSERS = ("dispose", "aclose", "close", "disconnect")

_kept: dict[str, tuple[Any, ...]] = {}
_closing: set[asyncio.Future[Any]] = set()
#: ``(name, repr of the object, the exception)`` for each clean-up that failed.
failures: list[tuple[str, str, BaseException]] = []


def keep(name: str, *objects: Any) -> Any:
    """Remember ``objects`` under ``name``, closing whatever was kept under it before.

    Returns the one object given, or a tuple of them. An object kept again under the
    same name (``lab.start()`` hands back the same server) is not closed.
    """
    if not objects:
        raise TypeError("keep() needs a name and at least one object")
    previous = _kept.get(name, ())
    _kept[name] = objects
    survivors = {id(o) for o in objects}
    for old in reversed(previous):  # the last made is closed first
        if id(old) not in survivors:
            _close(name, old)
    return objects[0] if len(objects) == 1 else objects


def kept(name: str) -> tuple[Any, ...]:
    """What is kept under ``name`` now (empty if nothing)."""
    return _kept.get(name, ())


def forget(name: str) -> None:
    """Close what is kept under ``name`` and forget the name."""
    for old in reversed(_kept.pop(name, ())):
        _close(name, old)


async def closed() -> None:
    """Wait until every clean-up started by :func:`keep` or :func:`forget` has finished."""
    while _closing:
        await asyncio.gather(*list(_closing), return_exceptions=True)


def _closer(obj: Any) -> Any:
    for attr in CLOSERS:
        method = getattr(obj, attr, None)
        if callable(method):
            return method
    return None


def _close(name: str, obj: Any) -> None:
    method = _closer(obj)
    if method is None:
        return
    try:
        result = method()
    except Exception as exc:  # noqa: BLE001 - a stale client must not break the new cell
        failures.append((name, repr(obj), exc))
        return
    if not inspect.isawaitable(result):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a plain script): close it right here
        try:
            asyncio.run(_await(result))
        except Exception as exc:  # noqa: BLE001
            failures.append((name, repr(obj), exc))
        return
    task = loop.create_task(_await(result))
    _closing.add(task)

    def done(t: asyncio.Future[Any]) -> None:
        _closing.discard(t)
        if not t.cancelled() and t.exception() is not None:
            failures.append((name, repr(obj), t.exception()))

    task.add_done_callback(done)


async def _await(awaitable: Any) -> Any:
    return await awaitable


__all__ = ["CLOSERS", "closed", "failures", "forget", "keep", "kept"]
