"""Server-Sent Events: a spec-exact parser (a sans-I/O core) and a resuming client (its shell).

    from rtlab.sse import ReconnectingEventSource, EventStreamParser, parse
"""

from rtlab.sse.client import ClientClosed, EventSourceFailed, ReconnectingEventSource, take
from rtlab.sse.parser import (
    EventDataError,
    EventStreamParser,
    MessageEvent,
    StreamTooLong,
    parse,
)

__all__ = [
    "ClientClosed",
    "EventDataError",
    "EventSourceFailed",
    "EventStreamParser",
    "MessageEvent",
    "ReconnectingEventSource",
    "StreamTooLong",
    "parse",
    "take",
]
