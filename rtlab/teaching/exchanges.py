"""One row per HTTP request a link chain sent: how, carrying what, and what came back.

For teaching persisted queries and HTTP caching (notebook 07), where the order of the
requests is the lesson: a hash, ``PersistedQueryNotFound``, the document, then the hash
alone; a GET answered by the server, then by the cache without a request, then
revalidated with a ``304``. :class:`ExchangeLog` is a link: put it right before the
terminating :class:`~rtlab.graphql.http.HttpLink`, after the links that decide how an
operation goes (:class:`~rtlab.graphql.persisted.PersistedQueryLink`). What reached the
server is read from the HTTP link's :class:`~rtlab.graphql.wire.WireStats` around each
request, so requests must go one at a time to be told apart.

:func:`caching_headers` asks the server directly what it says about caching one GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import httpx

from rtlab import urls
from rtlab.graphql.http import GET_ACCEPT, HttpLink, get_params, graphql_request, payload_of
from rtlab.graphql.links import Forward, Link, NetworkError, Operation, Response
from rtlab.graphql.persisted import VERSION, sha256_hex

CACHING = ("cache-control", "etag", "vary")


@dataclass(frozen=True)
class Exchange:
    """One request the HTTP link was asked to send."""

    method: str  # GET or POST
    carried: str  # "document", "hash" or "hash + document"
    wire: str  # "round trip", "304", or "from the cache" (no request reached the server)
    answer: str  # "data", the first error's message, or "HTTP <status>"
    bytes_up: int
    bytes_down: int


def carried(op: Operation) -> str:
    """What a request for ``op`` carries: the document, a persisted-query hash, or both."""
    http = op.context.get("http", {})
    document = http.get("include_query", True)
    hashed = "persistedQuery" in op.extensions
    return "hash + document" if document and hashed else ("hash" if hashed else "document")


def answer_of(response: Response | None, error: NetworkError | None) -> str:
    if error is not None:
        return f"HTTP {error.status}" if error.status else "no answer"
    assert response is not None
    if response.errors:
        return str(response.errors[0].get("message", "error"))
    return "data"


class ExchangeLog(Link):
    """Records each request on its way to ``http`` (see the module doc); ``rows`` keeps them."""

    def __init__(self, http: HttpLink) -> None:
        self.http = http
        self.rows: list[Exchange] = []

    async def request(self, op: Operation, forward: Forward) -> Response:
        before = self.http.wire.snapshot()
        response: Response | None = None
        error: NetworkError | None = None
        try:
            response = await forward(op)
            return response
        except NetworkError as exc:
            error = exc
            raise
        finally:
            after = self.http.wire.snapshot()
            grew = {k: after[k] - before[k] for k in after}
            wire = ("304" if grew["not_modified"] else
                    "round trip" if grew["round_trips"] else "from the cache")
            method = str(op.context.get("http", {}).get("method", "POST")).upper()
            self.rows.append(Exchange(method, carried(op), wire, answer_of(response, error),
                                      grew["bytes_up"], grew["bytes_down"]))

    def table(self, start: int = 0, *, with_bytes: bool = False) -> str:
        """Rows from ``start`` on, numbered; ``with_bytes`` adds the socket bytes (which
        vary with the HTTP client's version and the port: keep them out of checked output)."""
        lines = []
        for n, row in enumerate(self.rows[start:], start=start + 1):
            line = f"{n:>2}  {row.method:<4}  {row.carried:<15}  {row.wire:<14}  {row.answer}"
            if with_bytes:
                line += f"  ({row.bytes_up} B up, {row.bytes_down} B down)"
            lines.append(line)
        return "\n".join(lines)


async def caching_headers(url: str, op: Operation, *,
                          headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the server says about caching ``op`` asked as a GET by its persisted-query hash
    (as ``PersistedQueryLink(use_get=True)`` asks): ``Cache-Control``, ``ETag``, ``Vary``
    (absent ones left out). One plain request, outside any link and any cache."""
    ext = {"persistedQuery": {"version": VERSION, "sha256Hash": sha256_hex(op.query)}}
    request = graphql_request(replace(op, extensions={**op.extensions, **ext}))
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(urls.with_params(url, get_params(payload_of(request, False))),
                                    headers={"Accept": GET_ACCEPT, **(headers or {})})
    return {k: response.headers[k] for k in CACHING if k in response.headers}
