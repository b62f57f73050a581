"""The four transports side by side, measured the same way (notebook 08).

Three measurements, each short enough for a notebook cell; ``make bench`` runs the long ones:

* :func:`round_trips`: how long one message takes there and back, one at a time: a
  WebSocket echo, a Socket.IO ``call`` and its ack, and the chapter's GraphQL chat
  (a ``sendMessage`` mutation over HTTP until its ``messageReceived`` event arrives on the
  subscription). SSE has no way up: a client sends with a separate HTTP request.
* :func:`per_second`: messages per second, as fast as each goes: echoes sent without
  waiting (WebSocket), calls in flight together (Socket.IO), at most ``WINDOW`` ahead of
  the answers, an unpaced stream (``ticks(count, interval: 0)`` on GraphQL,
  ``?interval=0`` on SSE). On loopback this is the CPU each message costs the Python
  client and server, not the network.
* :func:`push_bytes`: what one pushed message costs on the wire, at a steady rate: the
  server's tickers (``/ws/ticker``, Socket.IO ``ticker``, GraphQL ``ticks``,
  ``/sse/ticker``), counted by a :class:`~rtlab.teaching.tap.ByteTap` in both directions
  (framing, pings, long-polls, keep-alives) next to the JSON the application gets.

Each function takes ``base`` (the server, or a proxy in front of it) and opens and closes
its own clients.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from rtlab.auth import TokenManager
from rtlab.graphql import Operation
from rtlab.graphql.ws import WebSocketLink
from rtlab.lab import ServerProcess
from rtlab.socketio import SocketIOClient
from rtlab.sse import ReconnectingEventSource
from rtlab.teaching.probes import ROOM_SUB, SEND
from rtlab.teaching.results import Bytes
from rtlab.teaching.tap import ByteTap
from rtlab.ws import ReconnectingWebSocket

TICKS = "subscription T($n: Int!, $s: Float!) { ticks(count: $n, interval: $s) { n timestamp } }"
_compact = json.JSONEncoder(separators=(",", ":")).encode


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


# -- round trips ------------------------------------------------------------------------------
async def round_trips(transport: str, base: Any, n: int = 50,
                      origin: Any = None) -> list[float]:
    """Seconds for each of ``n`` messages there and back, one after another. ``origin``
    (GraphQL only) is where the mutations go: the demo server itself."""
    return await _ROUND_TRIPS[transport](base, n, origin or base)


async def _ws_round_trips(base: Any, n: int, _origin: Any) -> list[float]:
    times = []
    async with ReconnectingWebSocket(base.ws_url("/ws/echo"), heartbeat_interval=None) as ws:
        for i in range(n):
            started = time.perf_counter()
            await ws.send({"type": "note", "id": str(i), "payload": i})
            while (await ws.recv()).get("id") != str(i):
                pass
            times.append(time.perf_counter() - started)
    return times


async def _sio_round_trips(base: Any, n: int, _origin: Any) -> list[float]:
    times = []
    async with SocketIOClient(base.url) as sio:
        for i in range(n):
            started = time.perf_counter()
            await sio.call("echo", {"n": i})
            times.append(time.perf_counter() - started)
    return times


async def _graphql_round_trips(base: Any, n: int, origin: Any) -> list[float]:
    """A chat message the chapter's way: mutation over HTTP, event on the subscription."""
    room = f"rtt-{time.monotonic_ns()}"
    tokens = TokenManager(origin.url, "alice")
    times = []
    async with WebSocketLink(base.ws_url("/graphql")) as link:
        sub = link.subscribe(Operation.of(ROOM_SUB, {"room": room}))
        await sub.wait_live()
        async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
            headers = await tokens.headers()
            for i in range(n):
                started = time.perf_counter()
                await http.post(origin.http_url("/graphql"), headers=headers, json={
                    "query": SEND, "variables": {"room": room, "content": str(i)}})
                await asyncio.wait_for(sub.next(), 5)
                times.append(time.perf_counter() - started)
        await sub.cancel()
    return times


_ROUND_TRIPS: dict[str, Callable[[Any, int, Any], Awaitable[list[float]]]] = {
    "GraphQL": _graphql_round_trips,
    "WebSocket": _ws_round_trips,
    "Socket.IO": _sio_round_trips,
}


# -- messages per second ---------------------------------------------------------------------
# Messages sent ahead of their answers, at most. The demo server drops a WebSocket peer
# whose outgoing queue passes 1024 (slow-consumer eviction) and a client's outbox holds
# 1000 (``queue_size``): more in flight is a lost link or QueueFull, not a faster rate.
WINDOW = 500
WAIT = 5.0  # seconds for any one answer: a lost message fails the measurement, not hangs it
QUIET = 0.2  # seconds without a message, the tap frozen: the client has read what crossed


async def per_second(transport: str, base: Any, n: int = 500) -> float:
    """Messages per second for ``n`` messages sent as fast as the transport goes.

    On a shared classroom server (``base.remote``) they go to a server of this kernel's own
    (:func:`own_server`): a class sending as fast as it can would measure each other and
    the instructor's machine, and the server's per-client rate limit refuses it anyway."""
    return await _PER_SECOND[transport](await asyncio.to_thread(own_server, base), n)


_own: ServerProcess | None = None


def own_server(base: Any) -> Any:
    """``base``, or for a shared (remote) server a private one, started once per kernel."""
    global _own
    if not getattr(base, "remote", False):
        return base
    if _own is None or not _own.alive:
        _own = ServerProcess.launch()
    return _own


async def _ws_per_second(base: Any, n: int) -> float:
    async with ReconnectingWebSocket(base.ws_url("/ws/echo"), heartbeat_interval=None) as ws:
        started = time.perf_counter()
        sent = 0
        for received in range(n):
            while sent < min(n, received + WINDOW):
                await ws.send({"type": "note", "id": str(sent), "payload": sent})
                sent += 1
            await asyncio.wait_for(ws.recv(), WAIT)
        return n / (time.perf_counter() - started)


async def _sio_per_second(base: Any, n: int) -> float:
    in_flight = asyncio.Semaphore(WINDOW)

    async def call(sio: SocketIOClient, i: int) -> None:
        async with in_flight:
            await sio.call("echo", {"n": i}, timeout=WAIT, retries=0)

    async with SocketIOClient(base.url) as sio:
        started = time.perf_counter()
        await asyncio.gather(*(call(sio, i) for i in range(n)))
        return n / (time.perf_counter() - started)


async def _graphql_per_second(base: Any, n: int) -> float:
    async with WebSocketLink(base.ws_url("/graphql")) as link:
        sub = link.subscribe(Operation.of(TICKS, {"n": n, "s": 0.0}))
        first = await asyncio.wait_for(sub.next(), WAIT)
        started = time.perf_counter()
        assert first.data is not None
        for _ in range(n - 1):
            await asyncio.wait_for(sub.next(), WAIT)
        return (n - 1) / (time.perf_counter() - started)


async def _sse_per_second(base: Any, n: int) -> float:
    async with ReconnectingEventSource(base.http_url("/sse/news?interval=0")) as source:
        got, started = 0, 0.0
        while got < n:
            event = await asyncio.wait_for(source.recv(), WAIT)
            if event.type == "news":
                got += 1
                if got == 1:
                    started = time.perf_counter()
        return (n - 1) / (time.perf_counter() - started)


_PER_SECOND: dict[str, Callable[[Any, int], Awaitable[float]]] = {
    "GraphQL": _graphql_per_second,
    "WebSocket": _ws_per_second,
    "Socket.IO": _sio_per_second,
    "SSE": _sse_per_second,
}


# -- bytes per pushed message ----------------------------------------------------------------
async def push_bytes(transport: str, base: Any, n: int = 25, rate: float = 50.0, *,
                     label: str | None = None, **options: Any) -> Bytes:
    """Bytes per message of the server's ticker at ``rate`` a second, over ``n`` messages
    after the first (the handshake and the first message are not counted). ``options`` go
    to the client (``compression=None`` turns permessage-deflate off for a WebSocket);
    ``label`` names the row (default: ``transport``)."""
    async with ByteTap.in_front_of(base.url) as tap:
        counted = _Counted(tap, n)
        boundaries = asyncio.ensure_future(counted.run())
        try:
            await _PUSH[transport](tap, counted, n, rate, options)
        finally:
            if not boundaries.done():
                boundaries.cancel()
        await boundaries  # its timeout, if a boundary never came
    return counted.result(label or transport)


class _Counted:
    """The tap's counts at two quiet boundaries, and the app's bytes of the messages between.

    A loaded client reads behind the tap: bytes the tap has relayed may belong to messages the
    client has not read yet. So at each boundary the tap is frozen (nothing more reaches the
    client) and the client reads what already crossed before the counts are taken: every byte
    counted then belongs to a message counted, whatever the client's lag.
    """

    def __init__(self, tap: ByteTap, n: int) -> None:
        self.tap, self.n = tap, n
        self.counted = 0  # messages between the boundaries
        self.app = 0
        self.first = self.last = (0, 0, 0)
        self.counting = False
        self.arrived = asyncio.Event()  # any message, counted or not
        self.enough = asyncio.Event()
        self.done = asyncio.Event()

    def message(self, app_bytes: int) -> None:
        self.arrived.set()
        if self.counting:
            self.counted += 1
            self.app += app_bytes
            if self.counted >= self.n:
                self.enough.set()

    async def _read_what_crossed(self) -> None:
        """Frozen: wait until no message has arrived for :data:`QUIET` seconds."""
        while True:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), QUIET)
            except TimeoutError:
                return

    async def run(self) -> None:
        """The two boundaries; the push loop reads messages meanwhile, until ``done``."""
        try:
            await self._boundaries()
        finally:
            self.tap.thaw()
            self.done.set()

    async def _boundaries(self) -> None:
        await asyncio.wait_for(self.arrived.wait(), WAIT)  # the handshake and a first one
        self.tap.freeze(new=True)
        await self._read_what_crossed()
        self.first, self.counting = self.tap.counts(), True
        self.tap.thaw()
        await asyncio.wait_for(self.enough.wait(), WAIT + 2 * self.n)
        self.tap.freeze(new=True)
        self.last = self.tap.counts()
        await self._read_what_crossed()
        self.counting = False

    def result(self, transport: str) -> Bytes:
        up = self.last[0] - self.first[0]
        down = self.last[1] - self.first[1]
        return Bytes(transport, self.counted, down / self.counted, up / self.counted,
                     self.app / self.counted)


async def _ws_push(tap: ByteTap, counted: _Counted, n: int, rate: float,
                   options: dict[str, Any]) -> None:
    async with ReconnectingWebSocket(tap.ws_url(f"/ws/ticker?rate={rate:g}"),
                                     heartbeat_interval=None, decode="text", **options) as ws:
        while not counted.done.is_set():
            counted.message(len((await asyncio.wait_for(ws.recv(), 5)).encode()))


async def _sio_push(tap: ByteTap, counted: _Counted, n: int, rate: float,
                    options: dict[str, Any]) -> None:
    sio = SocketIOClient(tap.url, **options)
    sio.on("tick", lambda data: counted.message(len(_compact(data).encode())))
    async with sio:
        await sio.call("ticker", {"rate": rate})
        await asyncio.wait_for(counted.done.wait(), 5 + 2 * n / rate)
        await sio.call("ticker", {"rate": 0})


async def _graphql_push(tap: ByteTap, counted: _Counted, n: int, rate: float,
                        options: dict[str, Any]) -> None:
    async with WebSocketLink(tap.ws_url("/graphql"), **options) as link:
        sub = link.subscribe(Operation.of(TICKS, {"n": 4 * n + 100, "s": 1 / rate}))
        while not counted.done.is_set():
            result = await asyncio.wait_for(sub.next(), 5)
            counted.message(len(_compact(result.data).encode()))


async def _sse_push(tap: ByteTap, counted: _Counted, n: int, rate: float,
                    options: dict[str, Any]) -> None:
    url = tap.http_url(f"/sse/ticker?interval={1 / rate:g}")
    async with ReconnectingEventSource(url, **options) as source:
        while not counted.done.is_set():
            event = await asyncio.wait_for(source.recv(), 5)
            if event.type == "tick":
                counted.message(len(event.data.encode()))


_PUSH: dict[str, Callable[[ByteTap, _Counted, int, float, dict[str, Any]],
                          Awaitable[None]]] = {
    "GraphQL": _graphql_push,
    "WebSocket": _ws_push,
    "Socket.IO": _sio_push,
    "SSE": _sse_push,
}


def speed_table(round_trip: dict[str, list[float]], rates: dict[str, float]) -> str:
    """Round trips (median, and the slowest tenth) and messages per second, one row each."""
    names = list(dict.fromkeys([*round_trip, *rates]))
    width = max(len(n) for n in names)
    lines = [f"{'':<{width}}  {'round trip':>10}  {'p90':>8}  {'messages/s':>10}"]
    for name in names:
        times = sorted(round_trip.get(name, []))
        rtt = f"{median_ms(times):7.2f} ms" if times else f"{'-':>10}"
        p90 = f"{times[int(0.9 * (len(times) - 1))] * 1000:5.2f} ms" if times else f"{'-':>8}"
        rate = f"{rates[name]:10,.0f}" if name in rates else f"{'-':>10}"
        lines.append(f"{name:<{width}}  {rtt:>10}  {p90:>8}  {rate}")
    return "\n".join(lines)


def bytes_table(measured: list[Bytes]) -> str:
    """Bytes per pushed message: the JSON the app got, the wire each way, the difference."""
    width = max(len(b.transport) for b in measured)
    lines = [f"{'':<{width}}  {'JSON':>6}  {'down':>6}  {'up':>6}  {'overhead':>8}"]
    for b in measured:
        lines.append(f"{b.transport:<{width}}  {b.app:6.0f}  {b.down:6.0f}  {b.up:6.0f}  "
                     f"{b.overhead:+8.0f}")
    return "\n".join(lines)
