"""The most expensive GraphQL queries inside the limits: refused before execution in < 50 ms,
or answered in < 0.5 s (DESIGN.md's target), next to a trivial query in the same run.

* ``posts(limit: 100)`` nested four levels deep: ran 8 s and answered 16 MB before the cost
  limit; now refused with ``QUERY_TOO_COSTLY`` before it runs (and the same twice under two
  aliases, which took 15 s);
* the costliest query that *is* allowed (a cost just under ``MAX_COST``, every list as full as
  the seeded data makes it): answered in full.

Medians of several POSTs over one keep-alive connection; the baseline is ``{ __typename }``,
so a slow machine shows up in both columns.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

from benchmarks.report import Row
from servers.graphql.limits import MAX_COST

REFUSE_TARGET_S = 0.050
ANSWER_TARGET_S = 0.500
NESTED = "posts(limit: 100) { author { posts(limit: 100) { author { posts(limit: 100) { " \
         "author { posts(limit: 100) { id title } } } } } } }"
EIGHT_SECONDS = "{ " + NESTED + " }"
FIFTEEN_SECONDS = "{ a: " + NESTED + " b: " + NESTED + " }"
COSTLIEST_ALLOWED = (
    "{ posts(limit: 40) { id title author { posts(limit: 24) { id title content createdAt "
    "commentCount author { id name postCount } } } } }"
)


def _median_post(http: httpx.Client, url: str, query: str, n: int) -> tuple[float, Any]:
    samples, body = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        response = http.post(url, json={"query": query})
        samples.append(time.perf_counter() - t0)
        body = response.json()
    return statistics.median(samples), body


def measure(url: str, n: int = 15) -> dict[str, Any]:
    with httpx.Client(timeout=30) as http:
        _median_post(http, url, "{ __typename }", 3)  # warm the connection and the server
        trivial, _ = _median_post(http, url, "{ __typename }", n)
        refused, body = _median_post(http, url, EIGHT_SECONDS, n)
        refused2, body2 = _median_post(http, url, FIFTEEN_SECONDS, n)
        allowed, answered = _median_post(http, url, COSTLIEST_ALLOWED, max(3, n // 3))
    codes = [b["errors"][0]["extensions"] for b in (body, body2)]
    return {"trivial": trivial, "refused": refused, "refused_two": refused2, "allowed": allowed,
            "codes": codes, "allowed_ok": "errors" not in answered and bool(answered["data"])}


def run(server: Any) -> list[Row]:
    m = measure(server.http_url("/graphql"))
    base = f"{m['trivial'] * 1e3:.1f} ms {{ __typename }}"
    refused_ok = all(c["code"] == "QUERY_TOO_COSTLY" for c in m["codes"])
    cost = m["codes"][0].get("cost")
    return [
        Row(f"GraphQL posts(limit: 100) x4 nested (8 s before), cost {cost:,}: refused",
            base, f"{m['refused'] * 1e3:.1f} ms QUERY_TOO_COSTLY",
            f"{m['refused'] / m['trivial']:.1f}x (target < {REFUSE_TARGET_S * 1e3:.0f} ms)",
            refused_ok and m["refused"] < REFUSE_TARGET_S),
        Row("GraphQL the same under two aliases (15 s before): refused",
            base, f"{m['refused_two'] * 1e3:.1f} ms QUERY_TOO_COSTLY",
            f"{m['refused_two'] / m['trivial']:.1f}x (target < {REFUSE_TARGET_S * 1e3:.0f} ms)",
            refused_ok and m["refused_two"] < REFUSE_TARGET_S),
        Row(f"GraphQL costliest query inside the limit (cost < {MAX_COST:,}): answered",
            base, f"{m['allowed'] * 1e3:.1f} ms, full data",
            f"{m['allowed'] / m['trivial']:.0f}x (target < {ANSWER_TARGET_S * 1e3:.0f} ms)",
            m["allowed_ok"] and m["allowed"] < ANSWER_TARGET_S),
    ]
