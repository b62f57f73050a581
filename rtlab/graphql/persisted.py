"""``PersistedQueryLink``: automatic persisted queries (APQ), Apollo's wire format and rules.

Instead of the document, a request carries its SHA-256 in
``extensions.persistedQuery = {"version": 1, "sha256Hash": HEX}``. The server answers
from the document it stored under that hash; the first time it does not know it and
says ``PersistedQueryNotFound``, and the link sends the request once more with the full
document (and the hash, so the server stores it). From then on every request is a few
dozen bytes instead of the whole query, and with ``use_get=True`` a query goes as a GET
whose URL an HTTP cache can key on (:mod:`rtlab.graphql.httpcache`).

The rules, checked against ``@apollo/client/link/persisted-queries``:

* hash first; the full document only after ``PersistedQueryNotFound`` (message or
  ``extensions.code == "PERSISTED_QUERY_NOT_FOUND"``), and then by POST (a long
  document does not belong in a URL);
* mutations use hashes too, but never GET;
* ``PersistedQueryNotSupported`` (or ``PERSISTED_QUERY_NOT_SUPPORTED``) turns the link
  off for good: every later request is a plain one, nothing is retried forever;
* each operation is resent at most once.

One rule goes further than Apollo's defaults: a server that knows nothing of APQ
(strawberry's own view, most servers) does not say ``PersistedQueryNotSupported``; it
says "no query" (an HTTP 400, or an error with no ``data``). Apollo passes that error on,
every time. Here the request is resent with the document, and if *that* works the server
evidently needed the document, so the link turns itself off for good (a failure that
the document does not fix is not blamed on APQ, and the link stays on).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from rtlab.graphql.links import Forward, Link, NetworkError, Operation, Response

VERSION = 1
NOT_FOUND = ("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
NOT_SUPPORTED = ("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")


class Verdict(StrEnum):
    """What to do after a hash-only request was answered."""

    ANSWER = "answer"  # a real answer: hand it back
    RESEND = "resend"  # the server does not know the hash yet: send the document too
    DISABLE = "disable"  # the server says it has no APQ: off for good, send the document
    PROBE = "probe"  # "no query": send the document; off for good if that fixes it
    RAISE = "raise"  # no answer at all (refused, 5xx): nothing learned about APQ


def _says(response: Response, names: tuple[str, str]) -> bool:
    message, code = names
    return any(e.get("message") == message or (e.get("extensions") or {}).get("code") == code
               for e in response.errors)


def request_failed(response: Response) -> bool:
    """True when nothing ran: errors, no data, and no error points into the result."""
    return (response.data is None and bool(response.errors)
            and all(e.get("path") is None for e in response.errors))


def judge(response: Response | None = None, error: NetworkError | None = None) -> Verdict:
    """The verdict on the answer to a hash-only request (exactly one of the two is given)."""
    if response is None:
        if error is None or error.status is None or error.retryable:
            return Verdict.RAISE
        return Verdict.PROBE if error.status in (400, 404, 405, 415, 422) else Verdict.RAISE
    if _says(response, NOT_SUPPORTED):
        return Verdict.DISABLE
    if _says(response, NOT_FOUND):
        return Verdict.RESEND
    if request_failed(response):
        return Verdict.PROBE
    return Verdict.ANSWER


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueryLink(Link):
    """Sends a hash instead of the document; put it before the terminating link.

    ``use_get``: hashed queries go as GET (``useGETForHashedQueries``). ``sha256`` may be
    replaced (tests, another hash); the server must compute the same one. Counters:
    ``hashed`` (hash-only requests), ``misses`` (``PersistedQueryNotFound``), ``full``
    (requests that carried the document); ``disabled`` says why the link turned off.
    """

    def __init__(self, *, use_get: bool = False,
                 sha256: Callable[[str], str] = sha256_hex) -> None:
        self.use_get, self.sha256 = use_get, sha256
        self.disabled: str | None = None
        self.hashed = self.misses = self.full = 0

    @property
    def enabled(self) -> bool:
        return self.disabled is None

    def _disable(self, why: str) -> None:
        if self.disabled is None:
            self.disabled = why

    async def request(self, op: Operation, forward: Forward) -> Response:
        if not self.enabled:
            return await forward(op)
        ext = {"persistedQuery": {"version": VERSION, "sha256Hash": self.sha256(op.query)}}
        http = dict(op.context.get("http", {}), include_query=False)
        if self.use_get and op.kind == "query":
            http["method"] = "GET"
        hashed = replace(op.with_context(http=http), extensions={**op.extensions, **ext})
        self.hashed += 1
        try:
            first: Response | None = await forward(hashed)
            failure: NetworkError | None = None
        except NetworkError as exc:
            first, failure = None, exc
        verdict = judge(first, failure)
        if verdict is Verdict.ANSWER and first is not None:
            return first
        if verdict is Verdict.RAISE and failure is not None:
            raise failure
        if verdict is Verdict.RESEND:
            self.misses += 1
        if verdict is Verdict.DISABLE:
            self._disable("the server said PersistedQueryNotSupported")
        # The document goes along now, by POST; with the hash while APQ is on, so the
        # server stores it.
        full = op.with_context(http={**op.context.get("http", {}), "method": "POST",
                                     "include_query": True})
        if self.enabled:
            full = replace(full, extensions={**op.extensions, **ext})
        self.full += 1
        second = await forward(full)
        if verdict is Verdict.PROBE and not request_failed(second):
            self._disable("the server needed the document although it had the hash "
                          f"({_describe(first, failure)}): it does not speak APQ")
        return second


def _describe(response: Response | None, error: NetworkError | None) -> str:
    if error is not None:
        return f"HTTP {error.status}" if error.status else str(error)
    assert response is not None
    return str(response.errors[0].get("message", "error"))[:80] if response.errors else "error"
