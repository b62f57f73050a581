"""The normalized cache on a feed: 1,000 posts, 100 shared authors, 3 comments each.

About 4,100 entities (1,000 posts, 3,000 comments, 100 users, 10 categories) in
about 11,000 JSON objects and lists. Baseline: ``json.loads`` of the same payload,
timed in the same process. Targets (DESIGN.md):

* write + read into a fresh cache / ``json.loads`` <= 8 (Apollo Client needs ~35);
* a repeat read with nothing changed / a full read <= 0.01 (memoized);
* a read after one field of one author changed / ``json.loads`` <= 1.1.

Also reported (issue #3): time per operation, and a cache-first hit against a
network round trip to the demo server's ``/graphql`` (when a server is given).
Medians of several repetitions, all in one process; ``python -m
benchmarks.graphql_cache --profile`` prints where the time goes.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.report import Row
from rtlab.graphql.cache import NormalizedCache

FEED = """
query Feed($limit: Int!) {
  feed(limit: $limit) {
    id title body createdAt
    stats { likes views }
    category { id name }
    author { id name avatar }
    comments { id text createdAt author { id name avatar } }
  }
}
"""
AUTHOR = "fragment AuthorName on User { name }"
POSTS, AUTHORS, COMMENTS, CATEGORIES = 1000, 100, 3, 10


def payload() -> dict[str, Any]:
    """The server's answer to ``FEED`` (with ``__typename``, as a normalized cache asks)."""

    def user(i: int) -> dict[str, Any]:
        return {"__typename": "User", "id": str(i), "name": f"User {i}",
                "avatar": f"https://example.test/avatars/{i}.png"}

    feed = []
    for p in range(POSTS):
        comments = [
            {"__typename": "Comment", "id": f"{p}-{c}", "text": f"Comment {c} on {p}",
             "createdAt": "2025-01-02T00:00:00.000Z", "author": user((p + c + 1) % AUTHORS)}
            for c in range(COMMENTS)
        ]
        feed.append({
            "__typename": "Post", "id": str(p), "title": f"Post number {p}",
            "body": f"Body of post {p}: " + "lorem ipsum " * 4,
            "createdAt": f"2025-01-01T{p % 24:02d}:00:00.000Z",
            "stats": {"__typename": "PostStats", "likes": p % 17, "views": p * 3},
            "category": {"__typename": "Category", "id": str(p % CATEGORIES),
                         "name": f"Category {p % CATEGORIES}"},
            "author": user(p % AUTHORS),
            "comments": comments,
        })
    return {"feed": feed}


def _median(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(reps: int = 15) -> dict[str, float]:
    text = json.dumps({"data": payload()})
    variables = {"limit": POSTS}
    loads = _median(lambda: json.loads(text), reps)

    # write + read into a fresh cache (json.loads of the answer excluded: it is the baseline)
    data = json.loads(text)["data"]
    times_write, times_read, times_both = [], [], []
    for _ in range(reps):
        cache = NormalizedCache(key_fields={"PostStats": False})
        t0 = time.perf_counter()
        cache.write_query(FEED, variables, data)
        t1 = time.perf_counter()
        result = cache.read_query(FEED, variables)
        t2 = time.perf_counter()
        assert result is not None and len(result["feed"]) == POSTS
        times_write.append(t1 - t0)
        times_read.append(t2 - t1)
        times_both.append(t2 - t0)
    write = statistics.median(times_write)
    read = statistics.median(times_read)
    both = statistics.median(times_both)
    entities = len(cache.ids())

    repeat = _median(lambda: cache.read_query(FEED, variables), reps * 20)

    changes = []
    reads_after = []
    for n in range(reps):
        t0 = time.perf_counter()
        cache.write_fragment(AUTHOR, f"User:{n % AUTHORS}", {"name": f"Renamed {n}"})
        t1 = time.perf_counter()
        result = cache.read_query(FEED, variables)
        t2 = time.perf_counter()
        assert result is not None
        changes.append(t1 - t0)
        reads_after.append(t2 - t1)
    change = statistics.median(changes)
    read_after = statistics.median(reads_after)
    renamed = [p for p in result["feed"] if p["author"]["id"] == str((reps - 1) % AUTHORS)]
    assert renamed and all(p["author"]["name"] == f"Renamed {reps - 1}" for p in renamed)
    return {"loads": loads, "write": write, "read": read, "write_read": both,
            "repeat": repeat, "change": change, "read_after": read_after,
            "entities": entities, "bytes": len(text)}


def _network(server: Any, reps: int = 20) -> tuple[float, float] | None:
    """A cache-first hit vs a POST round trip of one small query to the demo server."""
    url = getattr(server, "http_url", None)
    if url is None:
        return None
    import httpx
    from graphql import print_ast

    query = "query GetUser($userId: ID!) { user(id: $userId) { id name email } }"
    variables = {"userId": "1"}
    body = {"query": print_ast(NormalizedCache().transform(query)), "variables": variables}
    try:
        with httpx.Client(timeout=5) as client:
            endpoint = server.http_url("/graphql")  # type: ignore[attr-defined]

            def post() -> dict:
                answer = client.post(endpoint, json=body)
                answer.raise_for_status()
                return answer.json()

            first = post()
            if not first.get("data") or not first["data"].get("user"):
                return None
            cache = NormalizedCache()
            cache.write_query(query, variables, first["data"])
            network = _median(post, reps)
            hit = _median(lambda: cache.read_query(query, variables), reps * 10)
            return network, hit
    except (httpx.HTTPError, OSError, ValueError):
        return None


def run(server: object) -> list[Row]:
    m = measure()
    ms = 1e3
    ratio_fresh = m["write_read"] / m["loads"]
    ratio_repeat = m["repeat"] / m["read"]
    ratio_after = m["read_after"] / m["loads"]
    loads = f"json.loads {m['loads'] * ms:.2f} ms ({m['bytes'] / 1e6:.2f} MB)"
    rows = [
        Row(
            f"cache: write + read, fresh, {m['entities']:.0f} entities",
            loads,
            f"write {m['write'] * ms:.2f} ms + read {m['read'] * ms:.2f} ms",
            f"{ratio_fresh:.2f} (target <= 8; Apollo ~35)",
            ratio_fresh <= 8,
        ),
        Row(
            "cache: repeat read, nothing changed",
            f"full read {m['read'] * ms:.2f} ms",
            f"{m['repeat'] * 1e6:.1f} us",
            f"{ratio_repeat:.5f} (target <= 0.01)",
            ratio_repeat <= 0.01,
        ),
        Row(
            "cache: read after one author's name changed",
            loads,
            f"read {m['read_after'] * ms:.3f} ms (the write: {m['change'] * ms:.3f} ms)",
            f"{ratio_after:.3f} (target <= 1.1)",
            ratio_after <= 1.1,
        ),
    ]
    net = _network(server)
    if net is not None:
        network, hit = net
        rows.append(Row(
            "cache-first hit vs network round trip (GetUser)",
            f"POST /graphql {network * ms:.2f} ms",
            f"cache hit {hit * 1e6:.1f} us",
            f"{hit / network:.5f} of a round trip",
            hit < network,
        ))
    return rows


def profile() -> None:
    import cProfile
    import pstats

    text = json.dumps({"data": payload()})
    data = json.loads(text)["data"]
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(5):
        cache = NormalizedCache(key_fields={"PostStats": False})
        cache.write_query(FEED, {"limit": POSTS}, data)
        cache.read_query(FEED, {"limit": POSTS})
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        from benchmarks.report import table

        print(table(run(None)))
