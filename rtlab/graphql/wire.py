"""What a client really puts on the wire: operations, HTTP round trips, bytes up and down.

:class:`WireStats` holds the counters and a :class:`~rtlab.state.Timeline` that widgets
follow (:class:`rtlab.widgets.WireMeter`). The bytes are counted where they are written
to and read from the socket, not estimated from bodies:

* :class:`CountingTransport` is an httpx transport whose connections go through a
  counting httpcore network backend, so request lines, headers, bodies (compressed, as
  sent), chunk framing and keep-alive reuse are all in the numbers, and a response an
  HTTP cache answered without asking the server adds nothing;
* :func:`counting_connection` is a ``websockets`` client connection class that counts
  the raw frames (after permessage-deflate):
  ``connect(..., create_connection=counting_connection(stats))``. (rtlab's
  :class:`~rtlab.ws.ReconnectingWebSocket` uses a connection class of its own; pass it
  as ``base`` to count that one.)

``operations`` are what callers asked a link for; ``requests`` the HTTP requests a link
issued (a batch is one, a request served by an HTTP cache is one too); ``round_trips``
the requests that reached the server; ``not_modified`` those answered ``304``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
from websockets.asyncio.client import ClientConnection

from rtlab.state import Timeline

WIRE = "wire"  # timeline event kind: something was counted; ``detail`` says what


@dataclass
class WireStats:
    """Counters of one link or client; every change is also a ``wire`` event on ``timeline``."""

    name: str = "wire"
    timeline: Timeline = field(default_factory=lambda: Timeline(maxlen=1000))
    operations: int = 0
    requests: int = 0
    round_trips: int = 0
    not_modified: int = 0
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0

    @property
    def from_cache(self) -> int:
        """Requests an HTTP cache answered without a round trip."""
        return max(0, self.requests - self.round_trips)

    def snapshot(self) -> dict[str, int]:
        """The counters now, as a plain dict (for tables, tests and benchmarks)."""
        return {
            "operations": self.operations, "requests": self.requests,
            "round_trips": self.round_trips, "from_cache": self.from_cache,
            "not_modified": self.not_modified, "connections": self.connections,
            "bytes_up": self.bytes_up, "bytes_down": self.bytes_down,
        }

    def reset(self) -> None:
        """Start counting from zero (the timeline keeps its history)."""
        for name in ("operations", "requests", "round_trips", "not_modified", "connections",
                     "bytes_up", "bytes_down"):
            setattr(self, name, 0)
        self.timeline.record(WIRE, detail="reset")

    def operation(self, kind: str) -> None:
        self.operations += 1
        self.timeline.record(WIRE, detail=kind)

    def request(self, method: str) -> None:
        self.requests += 1
        self.timeline.record(WIRE, detail=f"request {method}")


def stats_of(source: Any) -> WireStats:
    """The :class:`WireStats` a source stands for: itself, or its ``.wire``."""
    if isinstance(source, WireStats):
        return source
    stats = getattr(source, "wire", None)
    if isinstance(stats, WireStats):
        return stats
    raise TypeError(f"expected WireStats or an object with .wire, got {type(source).__name__}")


# -- HTTP: count at the socket ------------------------------------------------------------------
class _CountingStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream, stats: WireStats) -> None:
        self._stream, self._stats = stream, stats

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._stream.read(max_bytes, timeout)
        self._stats.bytes_down += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)
        self._stats.bytes_up += len(buffer)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _CountingStream(stream, self._stats)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CountingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, stats: WireStats) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._stats = stats

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address,
                                                 socket_options)
        self._stats.connections += 1
        self._stats.timeline.record(WIRE, detail="connect")
        return _CountingStream(stream, self._stats)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        self._stats.connections += 1
        return _CountingStream(stream, self._stats)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Body(httpx.AsyncByteStream):
    """A response body that reports when it has been read to the end (its bytes are in)."""

    def __init__(self, stream: Any, stats: WireStats, status: int) -> None:
        self._stream, self._stats, self._status = stream, stats, status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()
        self._stats.timeline.record(WIRE, detail=f"response {self._status}")


class CountingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (HTTP/1.1, keep-alive pool), with every socket counted.

    httpx does not take a network backend as an argument, so the pool is built here
    with httpcore's public API (httpx's default limits). The parent's ``__init__`` is not
    called: all it does is build a pool of its own, and the TLS context for it (~40 ms);
    httpcore makes its default TLS context only when an ``https`` URL needs one.
    """

    def __init__(self, stats: WireStats, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self.stats = stats
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=None,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CountingBackend(stats),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.stats.round_trips += 1
        self.stats.timeline.record(WIRE, detail=f"round trip {request.method}")
        response = await super().handle_async_request(request)
        if response.status_code == 304:
            self.stats.not_modified += 1
        response.stream = _Body(response.stream, self.stats, response.status_code)
        return response


# -- WebSocket: count the raw frames ------------------------------------------------------------
class _CountingWrite:
    """The asyncio transport a connection writes to, counting what it writes."""

    def __init__(self, transport: Any, stats: WireStats) -> None:
        self._transport, self._stats = transport, stats

    def write(self, data: bytes) -> None:
        self._stats.bytes_up += len(data)
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def counting_connection(stats: WireStats,
                        base: type[ClientConnection] = ClientConnection) -> type[ClientConnection]:
    """A ``websockets`` connection class (a subclass of ``base``) that counts raw bytes.

    The bytes include the opening handshake and the control frames (pings, close).
    """

    class CountingConnection(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            stats.connections += 1
            super().connection_made(transport)
            self.transport = _CountingWrite(self.transport, stats)

        def data_received(self, data: bytes) -> None:
            stats.bytes_down += len(data)
            super().data_received(data)

    return CountingConnection
