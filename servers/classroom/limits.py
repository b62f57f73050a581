"""Per-client limits: message rate, connections per client, connections in all.

A *client* is the id a client sends (``?client=<id>``, which ``rtlab.lab.connect`` makes per
notebook), not its IP address: a class behind one NAT, or one laptop simulating thirty
students, shares an address. The counts live in :class:`servers.classroom.counters.Counters`.

Each check answers ``None`` (go on) or a :class:`Refusal` that names the limit, the client and
what to do; :mod:`servers.classroom.gate` turns it into the protocol's own answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from servers.classroom.counters import Counters

#: defaults for a class of about 60, each with several connections (notebook 04's herd opens
#: 60 at once, a notebook several more)
RATE = 100.0  # messages (requests, WebSocket frames, Socket.IO events) per second per client
CLIENT_CONNECTIONS = 100
TOTAL_CONNECTIONS = 3000
WINDOW = 1.0


@dataclass(frozen=True)
class Limits:
    rate: float = RATE
    client_connections: int = CLIENT_CONNECTIONS
    total_connections: int = TOTAL_CONNECTIONS
    window: float = WINDOW

    def as_dict(self) -> dict[str, float]:
        return {"messages_per_second": self.rate, "connections_per_client":
                self.client_connections, "connections": self.total_connections}


@dataclass(frozen=True)
class Refusal:
    """Why a request, connection or message is refused, and how each protocol says it."""

    code: str  # machine-readable, in the JSON body
    message: str  # one line for a human
    status: int  # HTTP
    close_code: int  # WebSocket
    retry_after: float | None = None  # seconds, for HTTP's Retry-After

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.message, "code": self.code}
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


class Admission:
    """The limits applied through shared counters (a pure shell: counters and clock given)."""

    def __init__(self, limits: Limits, counters: Counters,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self.counters = counters
        self.clock = clock

    async def open(self, client: str) -> Refusal | None:
        """A connection (a request, a WebSocket) opens; on a refusal nothing stays counted."""
        mine = await self.counters.adjust(f"conn:{client}", 1)
        everyone = await self.counters.adjust("conn", 1)
        if mine <= self.limits.client_connections and everyone <= self.limits.total_connections:
            return None
        await self.close(client)
        if mine > self.limits.client_connections:
            return Refusal("TOO_MANY_CONNECTIONS",
                           f"client {client} has {mine - 1} connections open, the limit is "
                           f"{self.limits.client_connections}: close some first",
                           429, 1008, retry_after=1.0)
        return Refusal("SERVER_FULL", f"the classroom server is full ({everyone - 1} "
                       f"connections, limit {self.limits.total_connections}): try again later",
                       503, 1013, retry_after=5.0)

    async def close(self, client: str) -> None:
        await self.counters.adjust(f"conn:{client}", -1)
        await self.counters.adjust("conn", -1)

    async def message(self, client: str) -> Refusal | None:
        """One more message from ``client`` in the current window."""
        window = self.limits.window
        count = await self.counters.incr(f"rate:{client}", window)
        allowed = self.limits.rate * window
        if count <= allowed:
            return None
        left = window - (self.clock() % window)
        return Refusal("RATE_LIMITED", f"rate limit: client {client} sent over {allowed:g} "
                       f"messages in {window:g} s; slow down",
                       429, 1008, retry_after=max(1.0, math.ceil(left)))
