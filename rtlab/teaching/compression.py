"""Compression on and off: bytes on the wire against CPU spent, for HTTP and WebSocket.

* **gzip on GraphQL over HTTP**: one large answer (100 posts with their authors, ~8 kB of
  JSON) fetched ``n`` times with ``Accept-Encoding: gzip`` and with ``identity``. The
  demo server gzips answers of 1 kB and more (Starlette's ``GZipMiddleware``, level 6).
* **permessage-deflate on a WebSocket** (RFC 7692; the server's websockets implementation
  negotiates it, websockets' client offers it by default): ``n`` JSON messages of ~4 kB
  (a news page: 40 items, each with its own id and numbered title) through ``/ws/echo``
  with ``compression="deflate"`` and with ``None``. The compression context is kept from
  message to message, so what repeats *across* messages compresses too.

Bytes are counted at the client's socket (:mod:`rtlab.graphql.wire`: headers and frames
included); CPU is this process's (:func:`time.process_time`) and the server's
(:func:`rtlab.teaching.measure.cpu_seconds`, None where ``/proc`` cannot be read).
``benchmarks/compression.py`` runs the same measurements longer.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import connect

from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import Operation
from rtlab.graphql.wire import WireStats, counting_connection
from rtlab.teaching.measure import cpu_seconds

BIG = "{ posts(limit: 100) { id title content createdAt author { id name username } } }"


def news_message(i: int) -> str:
    """The ``i``-th message of a news feed: 40 items, ~4 kB of JSON."""
    items = [{"id": i * 40 + k, "title": f"Backoff with jitter, part {i * 40 + k}",
              "summary": "why reconnecting clients spread out"} for k in range(40)]
    return json.dumps({"type": "news", "id": str(i), "payload": {"items": items}})


@dataclass(frozen=True)
class Cost:
    """``messages`` exchanges one way: bytes at the client's socket, wall time, CPU."""

    label: str
    messages: int
    bytes_up: int
    bytes_down: int
    seconds: float
    client_cpu: float
    server_cpu: float | None

    def per_message(self, direction: str = "both") -> float:
        """Bytes per message: ``down``, ``up`` or ``both``."""
        total = {"down": self.bytes_down, "up": self.bytes_up,
                 "both": self.bytes_up + self.bytes_down}[direction]
        return total / self.messages

    @property
    def cpu_us(self) -> float:
        """Client and server CPU per message, in microseconds (client only when the
        server's cannot be read)."""
        return (self.client_cpu + (self.server_cpu or 0.0)) / self.messages * 1e6


async def _metered(label: str, n: int, pid: int | None, stats: WireStats,
                   work: Callable[[], Awaitable[None]]) -> Cost:
    """Run ``work``; what it cost as differences (``stats`` may have counted before)."""
    up, down = stats.bytes_up, stats.bytes_down
    server0, client0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    await work()
    seconds, client = time.perf_counter() - t0, time.process_time() - client0
    server1 = cpu_seconds(pid)
    server = None if server0 is None or server1 is None else server1 - server0
    return Cost(label, n, stats.bytes_up - up, stats.bytes_down - down, seconds, client,
                server)


async def http_answers(url: str, encoding: str, n: int, server_pid: int | None = None, *,
                       query: str = BIG, wire: WireStats | None = None) -> Cost:
    """``n`` answers to ``query`` on one keep-alive connection, ``Accept-Encoding: encoding``
    (counted in ``wire`` if given, so a :class:`~rtlab.widgets.WireMeter` can follow)."""
    stats = wire if wire is not None else WireStats()

    async def work() -> None:
        async with HttpLink(url, headers={"Accept-Encoding": encoding}, wire=stats) as link:
            for _ in range(n):
                await link.request(Operation.of(query))

    return await _metered(f"HTTP {encoding}", n, server_pid, stats, work)


async def ws_echoes(url: str, compression: str | None, n: int,
                    server_pid: int | None = None, *, wire: WireStats | None = None) -> Cost:
    """``n`` news messages sent to an echo endpoint and read back, on one connection."""
    stats = wire if wire is not None else WireStats()

    async def work() -> None:
        async with connect(url, compression=compression, proxy=None,
                           create_connection=counting_connection(stats)) as ws:
            for i in range(n):
                await ws.send(news_message(i))
                await ws.recv()

    return await _metered(f"WebSocket {compression or 'uncompressed'}", n, server_pid, stats,
                          work)


def pays_below_mbit(saved_bytes: float, extra_cpu_us: float) -> float | None:
    """The link speed (Mbit/s) below which sending ``saved_bytes`` takes longer than the
    CPU spent to save them; None when the CPU cost was not measurable (<= 0)."""
    return saved_bytes * 8 / extra_cpu_us if extra_cpu_us > 0 else None


def compare(off: Cost, on: Cost, direction: str = "both") -> str:
    """Bytes per message off -> on, wall time, and what the saving cost in CPU, with the
    link speed below which it pays."""
    b_off, b_on = off.per_message(direction), on.per_message(direction)
    who = "client + server" if on.server_cpu is not None else "client only"
    line = (f"{on.label} vs {off.label}: {b_off:,.0f} -> {b_on:,.0f} bytes per message "
            f"({b_on / b_off:.0%}); {on.messages} messages took {off.seconds * 1000:.0f} -> "
            f"{on.seconds * 1000:.0f} ms; CPU per message ({who}) {off.cpu_us:.0f} -> "
            f"{on.cpu_us:.0f} µs")
    mbit = pays_below_mbit(b_off - b_on, on.cpu_us - off.cpu_us)
    return line + (f": pays on links slower than ~{mbit:,.0f} Mbit/s" if mbit else
                   ": the extra CPU is lost in the noise of this run")


async def answer_body(url: str, query: str = BIG) -> bytes:
    """The exact bytes of one uncompressed answer to ``query``."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(url, json={"query": query},
                                     headers={"Accept-Encoding": "identity"})
    return response.content


def gzip_cost(body: bytes, n: int = 100, level: int = 6) -> tuple[int, float, float]:
    """gzip alone on ``body``, as the server's middleware does it (level 6) and httpx
    undoes it: ``(compressed bytes, µs to compress, µs to decompress)``, medians of ``n``."""
    packed = gzip.compress(body, compresslevel=level)
    pack, unpack = [], []
    for _ in range(n):
        t0 = time.process_time()
        gzip.compress(body, compresslevel=level)
        t1 = time.process_time()
        zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(packed)
        t2 = time.process_time()
        pack.append(t1 - t0)
        unpack.append(t2 - t1)
    return len(packed), sorted(pack)[n // 2] * 1e6, sorted(unpack)[n // 2] * 1e6
