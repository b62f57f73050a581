"""GraphQL subscription events per second: ``rtlab.graphql`` vs raw gql, same stream, same run.

The stream is the lab server's ``ticks(count: N)`` subscription with no pacing: the server
yields as fast as the socket takes it, so the client sets the pace. Each round subscribes
once with gql's ``WebsocketsTransport`` (graphql-transport-ws, the same subprotocol) and
once with :class:`rtlab.graphql.ws.WebSocketLink`, alternating so machine noise hits both
alike; the ratio of median rates is the result (target >= 0.9). rtlab does more per event
(a timeline entry per result, the resubscribe bookkeeping, the buffer), and that is what
the ratio prices. A third figure goes through :class:`GraphQLClient` with a normalized
cache: every event written to the cache (no target; it shows what caching costs).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from benchmarks.report import Row
from rtlab.graphql import GraphQLClient, NormalizedCache
from rtlab.graphql.links import Operation
from rtlab.graphql.ws import WebSocketLink

TARGET = 0.9


def _document(n: int) -> str:
    return f"subscription Ticks {{ ticks(count: {n}) {{ n timestamp }} }}"


async def _gql_rate(url: str, n: int) -> float:
    transport = WebsocketsTransport(url=url, close_timeout=1, ping_interval=None,
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=transport) as session:
        count = 0
        t0 = time.perf_counter()
        async for _result in session.subscribe(GraphQLRequest(_document(n))):
            count += 1
        elapsed = time.perf_counter() - t0
    assert count == n, count
    return n / elapsed


async def _rtlab_rate(url: str, n: int) -> float:
    async with WebSocketLink(url, heartbeat_interval=10) as link:
        count = 0
        t0 = time.perf_counter()
        async for _response in link.subscribe(Operation.of(_document(n))):
            count += 1
        elapsed = time.perf_counter() - t0
    assert count == n, count
    return n / elapsed


async def _cached_rate(url: str, n: int) -> float:
    async with GraphQLClient(WebSocketLink(url), NormalizedCache()) as client:
        count = 0
        t0 = time.perf_counter()
        async for _result in client.subscribe(_document(n)):
            count += 1
        elapsed = time.perf_counter() - t0
    assert count == n, count
    return n / elapsed


async def measure(url: str, rounds: int = 7, per_round: int = 20_000) -> dict[str, float]:
    await _gql_rate(url, 2000)  # warm up both paths
    await _rtlab_rate(url, 2000)
    raw: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        raw.append(await _gql_rate(url, per_round))
        ours.append(await _rtlab_rate(url, per_round))
    cached = statistics.median([await _cached_rate(url, per_round // 4) for _ in range(3)])
    raw_median, ours_median = statistics.median(raw), statistics.median(ours)
    return {"raw": raw_median, "rtlab": ours_median, "ratio": ours_median / raw_median,
            "cached": cached}


def run(server) -> list[Row]:
    rates = asyncio.run(measure(server.ws_url("/graphql")))
    return [
        Row(
            "GraphQL subscription events per second (median)",
            f"{rates['raw']:,.0f} ev/s gql WebsocketsTransport",
            f"{rates['rtlab']:,.0f} ev/s WebSocketLink",
            f"{rates['ratio']:.3f} (target >= {TARGET})",
            rates["ratio"] >= TARGET,
        ),
        Row(
            "... the same through GraphQLClient, each event written to the cache",
            f"{rates['raw']:,.0f} ev/s gql WebsocketsTransport",
            f"{rates['cached']:,.0f} ev/s GraphQLClient + NormalizedCache",
            f"{rates['cached'] / rates['raw']:.3f} (a figure, no target)",
            True,
        ),
    ]
