"""Persisted queries: request bytes with and without APQ, and GET answers from an HTTP cache.

* **bytes up per request** sent plain vs as a hash (``PersistedQueryLink``, after its
  one miss), counted at the socket on warm keep-alive connections, for the chapter's
  short ``GetUser`` (target: < 1.0, APQ must not cost bytes) and for a page-sized
  document with fragments (target: <= 0.5). A hash costs ~100 bytes of JSON and the
  HTTP head ~250 whatever the body, so the saving grows with the document.
* **answers per second**: the same query as a GET the server marks
  ``public, max-age=5``, answered by a private HTTP cache (hishel; no request while
  fresh) vs a POST that makes a round trip every time, sequential, same server process
  (target: >= 1.5).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.report import Row
from rtlab.chapter.graphql_operations import FETCH_USER_QUERY
from rtlab.graphql.http import HttpLink
from rtlab.graphql.httpcache import HttpCache
from rtlab.graphql.links import Operation, chain
from rtlab.graphql.persisted import PersistedQueryLink
from rtlab.teaching.measure import PROFILE_PAGE

SHORT_TARGET = 1.0
PAGE_TARGET = 0.5
RATE_TARGET = 1.5
VARIABLES = {"userId": "1"}


async def _bytes_per_request(link, http: HttpLink, op: Operation, n: int) -> float:
    await link.request(op)  # warm: connection open, hash stored on the server
    before = http.wire.bytes_up
    for _ in range(n):
        await link.request(op)
    return (http.wire.bytes_up - before) / n


async def _rate(link, op: Operation, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        await link.request(op)
    return n / (time.perf_counter() - t0)


async def measure(url: str, rounds: int = 5, per_round: int = 200) -> dict[str, float]:
    op = Operation.of(FETCH_USER_QUERY, VARIABLES)
    page = Operation.of(PROFILE_PAGE, VARIABLES)
    plain = HttpLink(url)
    hashed_http = HttpLink(url)
    hashed = chain(PersistedQueryLink(), hashed_http)
    cached_http = HttpLink(url, http_cache=HttpCache())
    cached = chain(PersistedQueryLink(use_get=True), cached_http)
    try:
        plain_bytes = await _bytes_per_request(plain, plain, op, 50)
        hashed_bytes = await _bytes_per_request(hashed, hashed_http, op, 50)
        page_plain = await _bytes_per_request(plain, plain, page, 20)
        page_hashed = await _bytes_per_request(hashed, hashed_http, page, 20)
        for _ in range(3):
            await cached.request(op)  # miss, document, then stored by the cache
        trips_before = cached_http.wire.round_trips
        posts, hits = [], []
        for _ in range(rounds):
            posts.append(await _rate(plain, op, per_round))
            hits.append(await _rate(cached, op, per_round))
        cached_trips = cached_http.wire.round_trips - trips_before
    finally:
        for link in (plain, hashed_http, cached_http):
            await link.close()
    return {"plain_bytes": plain_bytes, "hashed_bytes": hashed_bytes,
            "page_plain": page_plain, "page_hashed": page_hashed,
            "post_rate": statistics.median(posts), "hit_rate": statistics.median(hits),
            "cached_trips": cached_trips, "cached_requests": rounds * per_round}


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.http_url("/graphql")))
    ratio = m["hashed_bytes"] / m["plain_bytes"]
    page_ratio = m["page_hashed"] / m["page_plain"]
    speed = m["hit_rate"] / m["post_rate"]
    return [
        Row("GraphQL APQ: bytes up per request (GetUser, warm)",
            f"{m['plain_bytes']:.0f} B full document", f"{m['hashed_bytes']:.0f} B hash only",
            f"{ratio:.2f} (target < {SHORT_TARGET})", ratio < SHORT_TARGET),
        Row("GraphQL APQ: bytes up per request (a page with fragments, warm)",
            f"{m['page_plain']:.0f} B full document", f"{m['page_hashed']:.0f} B hash only",
            f"{page_ratio:.2f} (target <= {PAGE_TARGET})", page_ratio <= PAGE_TARGET),
        Row("GraphQL GET from HTTP cache vs POST round trip (answers/s, median)",
            f"{m['post_rate']:.0f}/s POST", f"{m['hit_rate']:.0f}/s cached GET "
            f"({m['cached_trips']} round trips for {m['cached_requests']})",
            f"{speed:.2f} (target >= {RATE_TARGET})", speed >= RATE_TARGET),
    ]
