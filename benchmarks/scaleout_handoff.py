"""What the master's hand-off costs: ``--workers 2 --broker`` against one process, same run.

Every new connection to a multi-worker server waits for its request line, is read with
``MSG_PEEK`` by the master and passed to a worker (``SCM_RIGHTS``); after that the master is
out of the way. Three figures, each workers / one process:

- a new connection and one request (``Connection: close``), sequential: the hand-off's latency;
- new connections per second with 32 at a time: the master's accept-and-pass throughput;
- a request on a kept-alive connection: no master involved (should be about 1.0).

The load generator is raw asyncio streams in this process (the client's cost is the same in
both columns). Redis is a private ``redis-server`` (:mod:`servers.broker.redisproc`).
``python -m benchmarks scaleout_handoff``.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.report import Row
from rtlab.lab import ServerProcess
from servers.broker.redisproc import RedisProcess

SEQUENTIAL = 300
CONCURRENT = 32
SECONDS = 2.0
KEEPALIVE = 500
#: the hand-off may add at most this much to a new connection's first answer (median)
ADDED_MS_TARGET = 1.0

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"


async def _one_request(port: int) -> float:
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST % b"Connection: close\r\n")
    await reader.read()  # until the server closes
    writer.close()
    return time.perf_counter() - t0


async def _sequential(port: int) -> list[float]:
    return [await _one_request(port) for _ in range(SEQUENTIAL)]


async def _throughput(port: int) -> float:
    done = 0
    deadline = time.perf_counter() + SECONDS

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await _one_request(port)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENT)))
    return done / (time.perf_counter() - start)


async def _keepalive(port: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times = []
    try:
        for _ in range(KEEPALIVE):
            t0 = time.perf_counter()
            writer.write(REQUEST % b"")
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            times.append(time.perf_counter() - t0)
    finally:
        writer.close()
    return times


async def _measure(port: int) -> dict[str, float]:
    await _sequential(port)  # warm both paths (imports, first connections)
    sequential = await _sequential(port)
    return {"connect_ms": statistics.median(sequential) * 1000,
            "connects_per_s": await _throughput(port),
            "keepalive_ms": statistics.median(await _keepalive(port)) * 1000}


def measure(single: ServerProcess) -> tuple[dict[str, float], dict[str, float]]:
    with RedisProcess.start() as redis:
        workers = ServerProcess.launch(extra_args=("--workers", "2", "--broker", redis.url))
        try:
            one = asyncio.run(_measure(single.port))
            many = asyncio.run(_measure(workers.port))
        finally:
            workers.stop()
    return one, many


def run(server: ServerProcess) -> list[Row]:
    one, many = measure(server)
    added = many["connect_ms"] - one["connect_ms"]
    return [
        Row("new connection + one request, workers=2 / one process (median)",
            f"{one['connect_ms']:.2f} ms one process",
            f"{many['connect_ms']:.2f} ms master + 2 workers",
            f"{many['connect_ms'] / one['connect_ms']:.2f}x, +{added:.2f} ms "
            f"(target <= +{ADDED_MS_TARGET:g} ms)",
            added <= ADDED_MS_TARGET),
        Row(f"new connections per second, {CONCURRENT} at a time",
            f"{one['connects_per_s']:.0f}/s one process",
            f"{many['connects_per_s']:.0f}/s master + 2 workers",
            f"{many['connects_per_s'] / one['connects_per_s']:.2f}x (reported)", True),
        Row("request on a kept-alive connection (median): no master involved",
            f"{one['keepalive_ms']:.3f} ms one process",
            f"{many['keepalive_ms']:.3f} ms worker",
            f"{many['keepalive_ms'] / one['keepalive_ms']:.2f}x (reported)", True),
    ]
