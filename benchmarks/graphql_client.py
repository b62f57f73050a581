"""GraphQLClient: a cache-first hit against a network round trip, and the client's own cost.

Both rows run the chapter's ``GetUser`` (a user and ten posts) against the same server
process, alternating rounds so machine noise hits both sides alike; ratios of medians:

* a ``cache-first`` hit (warm cache: no request) / a ``network-only`` query through the
  same client (request, normalize, write, read back): what a cache saves (target <= 0.10);
* a ``network-only`` query through ``GraphQLClient`` / the same request sent with gql's
  httpx transport alone: what the links, the policy tables and the normalized write cost
  on top of the wire (target <= 1.30).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from gql import GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from benchmarks.report import Row
from rtlab.chapter.graphql_operations import FETCH_USER_QUERY
from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.client import GraphQLClient
from rtlab.graphql.documents import add_typename
from rtlab.graphql.http import HttpLink

HIT_TARGET = 0.10
OVERHEAD_TARGET = 1.30
VARIABLES = {"userId": "1"}


async def _timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t0)
    return samples


async def measure(url: str, rounds: int = 3, per_round: int = 40) -> dict[str, float]:
    client = GraphQLClient(HttpLink(url), NormalizedCache())
    raw = HTTPXAsyncTransport(url=url, timeout=10)
    await raw.connect()
    request = GraphQLRequest(add_typename(FETCH_USER_QUERY), variable_values=VARIABLES)

    async def hit() -> None:
        await client.query(FETCH_USER_QUERY, VARIABLES, fetch_policy="cache-first")

    async def network() -> None:
        await client.query(FETCH_USER_QUERY, VARIABLES, fetch_policy="network-only")

    async def bare() -> None:
        await raw.execute(request)

    hits: list[float] = []
    trips: list[float] = []
    bares: list[float] = []
    try:
        for call in (network, hit, bare):  # warm up every path
            await _timed(call, 20)
        calls_before = client.network_calls
        for _ in range(rounds):
            hits += await _timed(hit, per_round)
            trips += await _timed(network, per_round)
            bares += await _timed(bare, per_round)
        sent = client.network_calls - calls_before
    finally:
        await client.close()
        await raw.close()
    assert sent == rounds * per_round, "cache-first hits must not reach the network"
    hit_median, trip_median, bare_median = (statistics.median(x) for x in (hits, trips, bares))
    return {"hit_us": hit_median * 1e6, "network_us": trip_median * 1e6,
            "bare_us": bare_median * 1e6, "hit_ratio": hit_median / trip_median,
            "overhead": trip_median / bare_median}


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.http_url("/graphql")))
    return [
        Row(
            "GraphQL cache-first hit vs network round trip (GetUser, median)",
            f"{m['network_us']:.0f} us network-only query",
            f"{m['hit_us']:.0f} us cache-first hit",
            f"{m['hit_ratio']:.4f} (target <= {HIT_TARGET})",
            m["hit_ratio"] <= HIT_TARGET,
        ),
        Row(
            "GraphQLClient network-only query vs bare gql httpx request (median)",
            f"{m['bare_us']:.0f} us gql HTTPXAsyncTransport",
            f"{m['network_us']:.0f} us GraphQLClient",
            f"{m['overhead']:.3f} (target <= {OVERHEAD_TARGET})",
            m["overhead"] <= OVERHEAD_TARGET,
        ),
    ]
