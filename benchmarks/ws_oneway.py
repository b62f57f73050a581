"""WebSocket messages per second, one way: ``ReconnectingWebSocket`` vs raw ``websockets``.

Not a round trip: the client writes ``N`` envelopes back to back while a reader takes the
``N`` echoes as they come (``/ws/echo``), so messages flow without waiting for each other;
the rate is ``N`` over the time to the last echo. At most ``WINDOW`` messages are in
flight (the server drops a reader that lets 1,024 echoes pile up: a slow consumer). Both
clients do the same work per message (encode a JSON envelope, send, receive, decode)
against the same server process; rounds alternate so noise hits both alike; the ratio of
median rates is the result (target: >= 0.9). The server's echo costs the same on both
sides, so the ratio prices what rtlab adds per message (a timeline entry each way, the
inbox, the outbox's fast path), diluted by that shared cost.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from websockets.asyncio.client import connect

from benchmarks.report import Row
from rtlab.ws import ReconnectingWebSocket

TARGET = 0.9
WINDOW = 256


def _envelope(i: int) -> dict:
    return {"type": "bench", "id": str(i), "payload": i}


async def _raw_rate(url: str, n: int) -> float:
    window = asyncio.Semaphore(WINDOW)
    async with connect(url, proxy=None) as ws:

        async def reader() -> None:
            for _ in range(n):
                json.loads(await ws.recv())
                window.release()

        t0 = time.perf_counter()
        task = asyncio.ensure_future(reader())
        for i in range(n):
            await window.acquire()
            await ws.send(json.dumps(_envelope(i)))
        await task
        return n / (time.perf_counter() - t0)


async def _rtlab_rate(url: str, n: int) -> float:
    window = asyncio.Semaphore(WINDOW)
    async with ReconnectingWebSocket(url, heartbeat_interval=None) as ws:

        async def reader() -> None:
            for _ in range(n):
                await ws.recv()
                window.release()

        t0 = time.perf_counter()
        task = asyncio.ensure_future(reader())
        for i in range(n):
            await window.acquire()
            await ws.send(_envelope(i))
        await task
        return n / (time.perf_counter() - t0)


async def measure(url: str, rounds: int = 7, per_round: int = 5000) -> dict[str, float]:
    await _raw_rate(url, 1000)  # warm up both paths
    await _rtlab_rate(url, 1000)
    raw: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        raw.append(await _raw_rate(url, per_round))
        ours.append(await _rtlab_rate(url, per_round))
    raw_rate, ours_rate = statistics.median(raw), statistics.median(ours)
    return {"raw": raw_rate, "rtlab": ours_rate, "ratio": ours_rate / raw_rate}


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.ws_url("/ws/echo")))
    return [
        Row("WebSocket one-way messages/s (pipelined echo, median)",
            f"{m['raw']:.0f}/s raw websockets", f"{m['rtlab']:.0f}/s ReconnectingWebSocket",
            f"{m['ratio']:.3f} (target >= {TARGET})", m["ratio"] >= TARGET),
    ]
