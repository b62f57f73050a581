"""Server-Sent Events: a spec-exact parser (a sans-I/O core) and a resuming client (its shell).

    from rtlab.sse import ReconnectingEventSource, EventStreamParser, parse

The parser's names load the parser only; the client's (``ReconnectingEventSource``,
``take``) load httpx on first use, so ``import rtlab.sse.parser`` stays a pure core.
"""

from __future__ import annotations

from typing import Any

from rtlab.errors import ClientClosed, ConnectionFailed, EventDataError, StreamTooLong
from rtlab.sse.parser import EventStreamParser, MessageEvent, parse

_CLIENT = frozenset({"ReconnectingEventSource", "take"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from rtlab.sse import client

        return getattr(client, name)
    raise AttributeError(f"module 'rtlab.sse' has no attribute {name!r}")


__all__ = [
    "ClientClosed",
    "ConnectionFailed",
    "EventDataError",
    "EventStreamParser",
    "MessageEvent",
    "ReconnectingEventSource",
    "StreamTooLong",
    "parse",
    "take",
]
