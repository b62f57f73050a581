"""Per-client limits: message rate, connections per client, connections in all.

Messages go through a token bucket per client (``BURST`` at once, ``RATE`` per second after
that): a notebook's short measurements pass, a loop that keeps going is slowed to the rate.
A *client* is the id a client sends (``?client=<id>``, which ``rtlab.lab.connect`` makes per
notebook), not its IP address: a class behind one NAT, or one laptop simulating thirty
students, shares an address. The counts live in :class:`servers.classroom.counters.Counters`.

Each check answers ``None`` (go on) or a :class:`Refusal` that names the limit, the client and
what to do; :mod:`servers.classroom.gate` turns it into the protocol's own answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from servers.classroom.counters import Counters

#: Defaults for a class of about 60 on one 2-core machine, measured
#: (``python tools/notebook_rates.py``; server CPU per message with a load generator):
#:
#: - a token bucket per client: ``BURST`` messages at once, ``RATE`` per second after that.
#:   What a chapter notebook needs at 5/s: 07 (200 + 200 compression echoes and ~150 GraphQL
#:   requests in ~4 s) a bucket of 523; every other one 71 or fewer; a notebook left open
#:   sends under 1 message/s (heartbeats). The burst leaves 07 room to run twice.
#: - a class of 60 at the sustained rate sends 300 messages/s. The costliest common message,
#:   a GraphQL query over HTTP, takes ~2.4 ms of server CPU (a plain HTTP request ~0.3 ms, an
#:   echoed WebSocket frame ~60 µs), so even 300 queries/s keep the server's one process
#:   under ~0.7 of a core. At 10/s the same class would need 1.4 cores: overloaded.
#: - 60 clients spending their whole bucket at the same second queue 36,000 messages
#:   (seconds of work for frames, over a minute for queries): a bounded one-off, as a whole
#:   class running notebook 07 at once is (~0.4 s of server CPU per student).
#: - connections: notebook 04's herd opens 60 at once, a notebook several more.
RATE = 5.0  # messages (requests, WebSocket frames, Socket.IO events) per second per client
BURST = 600  # messages at once per client (the bucket's size)
CLIENT_CONNECTIONS = 100
TOTAL_CONNECTIONS = 3000


@dataclass(frozen=True)
class Limits:
    rate: float = RATE
    burst: int = BURST
    client_connections: int = CLIENT_CONNECTIONS
    total_connections: int = TOTAL_CONNECTIONS

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.burst >= 1):
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not {self.rate:g} "
                             f"and {self.burst}")

    def as_dict(self) -> dict[str, float]:
        return {"messages_per_second": self.rate, "burst": self.burst,
                "connections_per_client": self.client_connections,
                "connections": self.total_connections}


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
    """The limits applied through shared counters (a pure shell: the counters keep the time)."""

    def __init__(self, limits: Limits, counters: Counters) -> None:
        self.limits = limits
        self.counters = counters

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
        """One more message from ``client``: through its token bucket, or refused."""
        limits = self.limits
        wait = await self.counters.take(f"rate:{client}", limits.rate, limits.burst)
        if not wait:
            return None
        return Refusal("RATE_LIMITED", f"rate limit: client {client} sent more than "
                       f"{limits.burst} messages at once or over {limits.rate:g}/s for a "
                       f"while; slow down (room for one more in {wait:.1f} s)",
                       429, 1008, retry_after=max(1.0, math.ceil(wait)))
