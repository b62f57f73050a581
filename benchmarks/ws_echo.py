"""Echo round trip: ``ReconnectingWebSocket`` against raw ``websockets`` on the same server.

Both sides do the same work per round trip (encode a JSON envelope, send,
receive, decode), against the same ``/ws/echo`` of one server process. Rounds
alternate between the two clients so that machine noise hits both alike; the
ratio of medians is the result (target: <= 1.10).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from websockets.asyncio.client import connect

from benchmarks.report import Row
from rtlab.ws import ReconnectingWebSocket

TARGET = 1.10


async def _raw_round_trips(url: str, n: int) -> list[float]:
    samples = []
    async with connect(url, proxy=None) as ws:
        for i in range(n):
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "bench", "id": str(i), "payload": i}))
            json.loads(await ws.recv())
            samples.append(time.perf_counter() - t0)
    return samples


async def _rtlab_round_trips(url: str, n: int) -> list[float]:
    samples = []
    async with ReconnectingWebSocket(url) as ws:
        for i in range(n):
            t0 = time.perf_counter()
            await ws.send({"type": "bench", "id": str(i), "payload": i})
            await ws.recv()
            samples.append(time.perf_counter() - t0)
    return samples


async def measure(url: str, rounds: int = 6, per_round: int = 500) -> dict[str, float]:
    raw: list[float] = []
    ours: list[float] = []
    await _raw_round_trips(url, 100)  # warm up both paths
    await _rtlab_round_trips(url, 100)
    for _ in range(rounds):
        raw += await _raw_round_trips(url, per_round)
        ours += await _rtlab_round_trips(url, per_round)
    raw_median = statistics.median(raw)
    ours_median = statistics.median(ours)
    return {
        "raw websockets median (us)": raw_median * 1e6,
        "ReconnectingWebSocket median (us)": ours_median * 1e6,
        "ratio": ours_median / raw_median,
    }


def run(server) -> list[Row]:
    echo = asyncio.run(measure(server.ws_url("/ws/echo")))
    return [
        Row(
            "WebSocket echo round trip (median)",
            f"{echo['raw websockets median (us)']:.0f} us raw websockets",
            f"{echo['ReconnectingWebSocket median (us)']:.0f} us ReconnectingWebSocket",
            f"{echo['ratio']:.3f} (target <= {TARGET})",
            echo["ratio"] <= TARGET,
        )
    ]
