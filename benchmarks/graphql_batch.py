"""Query batching: 50 small queries issued at once, one request each vs ``BatchHttpLink``.

Both sides send the same 50 ``post(id)`` queries to the same server process, all issued
in the same instant (``asyncio.gather``), on warm connections; rounds alternate so noise
hits both alike. Rows:

* round trips (HTTP exchanges that reached the server, counted by the link's
  :class:`~rtlab.graphql.wire.WireStats`): 50 vs 50 / ``max_size`` (target: <= 0.2);
* wall time until the 50th answer, ratio of medians (target: <= 1.0: fewer round trips
  must not cost time);
* the latency the batch window adds to a query asked alone: a lone query through
  ``BatchHttpLink(interval_ms=10)`` minus the same through ``HttpLink`` (target: within
  the window plus 5 ms).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.report import Row
from rtlab.graphql.batch import BatchHttpLink
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import Operation

POST = "query Post($id: ID!) { post(id: $id) { id title } }"
N = 50
MAX_SIZE = 10
INTERVAL_MS = 10.0
OPS = [Operation.of(POST, {"id": str(i % 40 + 1)}) for i in range(N)]


async def _burst(link: HttpLink) -> tuple[float, int]:
    before = link.wire.round_trips
    t0 = time.perf_counter()
    await asyncio.gather(*(link.request(op) for op in OPS))
    return time.perf_counter() - t0, link.wire.round_trips - before


async def _lone(link: HttpLink) -> float:
    t0 = time.perf_counter()
    await link.request(OPS[0])
    return time.perf_counter() - t0


async def measure(url: str, rounds: int = 15) -> dict[str, float]:
    plain = HttpLink(url)
    batched = BatchHttpLink(url, max_size=MAX_SIZE, interval_ms=INTERVAL_MS)
    times: dict[str, list[float]] = {"plain": [], "batched": [], "plain1": [], "batched1": []}
    trips: dict[str, int] = {}
    try:
        for link in (plain, batched):  # warm up: connections open, code paths hot
            for _ in range(3):
                await _burst(link)
        for _ in range(rounds):
            for name, link in (("plain", plain), ("batched", batched)):
                elapsed, trips[name] = await _burst(link)
                times[name].append(elapsed)
                times[name + "1"].append(await _lone(link))
    finally:
        await plain.close()
        await batched.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"plain_trips": trips["plain"], "batched_trips": trips["batched"],
            "plain_ms": med["plain"] * 1e3, "batched_ms": med["batched"] * 1e3,
            "added_ms": (med["batched1"] - med["plain1"]) * 1e3}


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.http_url("/graphql")))
    trip_ratio = m["batched_trips"] / m["plain_trips"]
    time_ratio = m["batched_ms"] / m["plain_ms"]
    return [
        Row(f"GraphQL {N} queries at once: round trips",
            f"{m['plain_trips']} HttpLink", f"{m['batched_trips']} BatchHttpLink(max {MAX_SIZE})",
            f"{trip_ratio:.2f} (target <= 0.2)", trip_ratio <= 0.2),
        Row(f"GraphQL {N} queries at once: wall time (median)",
            f"{m['plain_ms']:.1f} ms HttpLink", f"{m['batched_ms']:.1f} ms BatchHttpLink",
            f"{time_ratio:.2f} (target <= 1.0)", time_ratio <= 1.0),
        Row("GraphQL lone query: latency the batch window adds (median)",
            f"window {INTERVAL_MS:.0f} ms", f"+{m['added_ms']:.1f} ms",
            f"+{m['added_ms']:.1f} ms (target <= {INTERVAL_MS + 5:.0f} ms)",
            m["added_ms"] <= INTERVAL_MS + 5),
    ]
