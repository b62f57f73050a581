"""Build URLs from a base that may carry a query string (a classroom server's join token).

A classroom handle's base URL is ``http://HOST:PORT?join=TOKEN&client=ID``: every URL built
from it must keep that query, wherever the path goes, merged with the path's own query::

    join("http://h:1?join=T&client=C", "/ws/ticker?rate=5")
    # -> "http://h:1/ws/ticker?rate=5&join=T&client=C"

``f"{base}/graphql"`` would put the path inside the query instead; :func:`join` is the one
place that knows.
"""

from __future__ import annotations

import urllib.parse


def join(base: str, path: str) -> str:
    """``base``'s scheme and host, ``path`` (with its own query) and then ``base``'s query."""
    parts = urllib.parse.urlsplit(base)
    path_part, _, path_query = path.partition("?")
    full_path = parts.path.rstrip("/") + "/" + path_part.lstrip("/")
    query = "&".join(q for q in (path_query, parts.query) if q)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, full_path, query, ""))


def websocket(url: str) -> str:
    """The same URL with ``ws``/``wss`` in place of ``http``/``https``."""
    if url.startswith("http"):
        return "ws" + url[4:]
    return url


def query_of(url: str) -> str:
    return urllib.parse.urlsplit(url).query


def without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
