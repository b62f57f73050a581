"""Ack round trip: ``rtlab.socketio.SocketIOClient.call`` against raw python-socketio ``call``.

Both emit ``echo`` with a small payload on ``/`` and wait for the server's ack, on the
same server process, once per transport (long-polling, WebSocket). Rounds alternate
between the two clients so machine noise hits both alike; the ratio of medians is the
result (target: <= 1.10 on each transport).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import socketio

from benchmarks.report import Row
from rtlab.socketio import SocketIOClient

TARGET = 1.10
#: transport -> (rounds, round trips per round); a polling round trip takes tens of ms
TRANSPORTS = {"polling": (4, 40), "websocket": (6, 300)}


async def _raw(url: str, transport: str, n: int) -> list[float]:
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await sio.connect(url, transports=[transport])
    samples = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            await sio.call("echo", {"n": i}, timeout=5)
            samples.append(time.perf_counter() - t0)
    finally:
        await sio.eio.disconnect(abort=True)
    return samples


async def _ours(url: str, transport: str, n: int) -> list[float]:
    samples = []
    async with SocketIOClient(url, transports=(transport,)) as client:
        for i in range(n):
            t0 = time.perf_counter()
            await client.call("echo", {"n": i})
            samples.append(time.perf_counter() - t0)
    return samples


async def measure(url: str, transport: str, rounds: int = 6, per_round: int = 300) -> dict:
    raw: list[float] = []
    ours: list[float] = []
    await _raw(url, transport, 10)  # warm up both paths
    await _ours(url, transport, 10)
    for _ in range(rounds):
        raw += await _raw(url, transport, per_round)
        ours += await _ours(url, transport, per_round)
    raw_median, ours_median = statistics.median(raw), statistics.median(ours)
    return {"raw": raw_median * 1e6, "ours": ours_median * 1e6, "ratio": ours_median / raw_median}


def run(server) -> list[Row]:
    rows = []
    for transport, (rounds, per_round) in TRANSPORTS.items():
        m = asyncio.run(measure(server.url, transport, rounds, per_round))
        rows.append(Row(
            f"Socket.IO ack round trip, {transport} (median)",
            f"{m['raw']:.0f} us raw python-socketio",
            f"{m['ours']:.0f} us SocketIOClient",
            f"{m['ratio']:.3f} (target <= {TARGET})",
            m["ratio"] <= TARGET,
        ))
    return rows
