"""Automatic persisted queries (APQ), Apollo's wire format; strawberry has none.

A request's ``extensions.persistedQuery = {"version": 1, "sha256Hash": HEX}``:

- without ``query``: the document stored under that hash is used; unknown hash ->
  ``PersistedQueryNotFound`` (``extensions.code = "PERSISTED_QUERY_NOT_FOUND"``), and the
  client sends the request again with the full query;
- with ``query``: the hash is checked (sha256 of the exact UTF-8 text, lowercase hex) and the
  document is stored; a mismatch is refused, so nobody can plant a wrong document.

Works the same for GET (``extensions`` is a JSON query parameter) and POST. Other keys of
``extensions`` are ignored. Pure: the store is a bounded dict, no I/O.
"""

from __future__ import annotations

import collections
import hashlib
import re
from typing import Any

MAX_STORED = 10_000
NOT_FOUND = "PersistedQueryNotFound"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")  # ASCII only: str.isdigit() would take "٣"


class APQError(Exception):
    """A persisted-query problem; ``code`` goes to ``extensions.code``."""

    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def sha256_hex(query: str) -> str:
    """The hash of the query's UTF-8 text (a lone surrogate, which JSON can carry and UTF-8
    cannot, is hashed as its surrogate bytes: it can never match, and never raises)."""
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


class PersistedQueries:
    """Hash -> document, least recently used dropped beyond ``limit``."""

    def __init__(self, limit: int = MAX_STORED) -> None:
        self.limit = limit
        self._docs: collections.OrderedDict[str, str] = collections.OrderedDict()
        self.hits = 0
        self.misses = 0
        self.stored = 0

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, digest: str) -> str | None:
        """The document stored under ``digest``, without counting a hit (for HTTP caching)."""
        return self._docs.get(digest.lower())

    def resolve(self, query: Any, extensions: Any) -> Any:
        """The query to run: ``query`` itself when no APQ extension is present, the stored
        document on a hit; raises :class:`APQError` on a miss or a bad extension."""
        pq = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if pq is None:
            return query
        if not isinstance(pq, dict):
            raise APQError("extensions.persistedQuery must be an object", "BAD_REQUEST", 400)
        if pq.get("version") != 1:
            raise APQError(
                "Unsupported persisted query version (only version 1 is known)",
                "PERSISTED_QUERY_VERSION_UNSUPPORTED", 400,
            )
        digest = pq.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise APQError(
                "extensions.persistedQuery.sha256Hash must be 64 hex digits (a SHA-256)",
                "BAD_REQUEST", 400,
            )
        digest = digest.lower()
        if query is None:
            stored = self._docs.get(digest)
            if stored is None:
                self.misses += 1
                raise APQError(NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
            self._docs.move_to_end(digest)
            self.hits += 1
            return stored
        if not isinstance(query, str):
            return query  # the endpoint reports the bad query type
        actual = sha256_hex(query)
        if actual != digest:
            raise APQError(
                f"provided sha does not match query: sha256Hash is {digest}, "
                f"but the sha256 of the query text is {actual}",
                "PERSISTED_QUERY_HASH_MISMATCH", 400,
            )
        self._docs[digest] = query
        self._docs.move_to_end(digest)
        self.stored += 1
        while len(self._docs) > self.limit:
            self._docs.popitem(last=False)
        return query
