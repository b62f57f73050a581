"""An RFC 9111 HTTP cache in front of a link's sockets, by hishel (the cache rules are its).

What it gives GraphQL: a GET persisted query (:class:`~rtlab.graphql.persisted.PersistedQueryLink`
with ``use_get=True``) whose answer says ``Cache-Control: public, max-age=5`` and carries an
``ETag`` is answered from the cache for 5 seconds *without a request*; after that the cache
revalidates with ``If-None-Match`` and a ``304 Not Modified`` brings back no body. A request
that says ``Cache-Control: no-cache`` revalidates at once. Answers marked ``no-store``
(errors, misses, signed-in data on our server) are never kept; POSTs are never cached.

``shared=True`` makes it behave as a proxy or CDN would (RFC 9111 §3.5: an answer to a
request with ``Authorization`` is not stored unless the server explicitly allows it, and
``private`` answers are never stored); the default is a private cache, one user's own.

The entries live in an in-memory SQLite database (hishel's storage), so nothing is written
to disk and every link starts cold. One response is kept per URL and method: hishel 2.0.0
stores the full answer to a revalidation next to the one it replaced (its code comment says
the old entry's id is reused; it is not), and then picks between two fresh entries by
their ``Date`` header, to the second, so for the rest of that second it may serve the
replaced, older answer. RFC 9111 §4.3.3: a full response to a conditional request means
the stored ones were not suitable. A client's private cache loses nothing by keeping one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anysqlite
import httpx
from hishel import AsyncSqliteStorage, CacheOptions, Entry, Request, Response
from hishel.httpx import AsyncCacheTransport


class OneResponseStorage(AsyncSqliteStorage):
    """hishel's SQLite storage, keeping one stored response per cache key and method."""

    async def create_entry(self, request: Request, response: Response, key: str,
                           **limits: Any) -> Entry:
        for entry in await self.get_entries(key):
            if entry.request.method == request.method:
                await self.remove_entry(entry.id)
        return await super().create_entry(request, response, key, **limits)


@dataclass(frozen=True)
class HttpCache:
    """How a link caches: ``shared`` (a proxy's rules) or private (a browser's)."""

    shared: bool = False

    async def wrap(self, network: httpx.AsyncBaseTransport) -> AsyncCacheTransport:
        """A caching transport in front of ``network`` (in-memory storage, nothing on disk)."""
        connection = await anysqlite.connect(":memory:", isolation_level=None)
        storage = OneResponseStorage(connection=connection)
        return AsyncCacheTransport(next_transport=network, storage=storage,
                                   rfc=CacheOptions(shared=self.shared))

