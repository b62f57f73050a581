"""Fetch policies and error policies as data: one table each, one decision per cell.

A **fetch policy** decides, from what the cache holds for a query (complete,
partial, nothing), what the caller sees now, whether to ask the network, whether
to write the answer to the cache, and what the caller sees when it arrives
(:data:`FETCH_TABLE`, :func:`decide`). The semantics are graphql_flutter's, which copies
Apollo Client's except in one cell: a ``cache-only`` miss is an error there (a
``CacheMissException``, graphql_flutter ``QueryManager._resolveQueryEagerly``), while Apollo
answers it with no data and no error:

==================  ==================  =================  ========  ============
policy              cache holds         now                network   write answer
==================  ==================  =================  ========  ============
cache-first         complete            cached data        no        --
cache-first         partial / nothing   loading            yes       yes
cache-and-network   complete            cached data        yes       yes
cache-and-network   partial / nothing   loading            yes       yes
network-only        anything            loading            yes       yes
no-cache            anything            loading            yes       no
cache-only          complete            cached data        no        --
cache-only          partial / nothing   miss (an error)    no        --
==================  ==================  =================  ========  ============

When the answer is written, the caller then sees the query read back from the
cache (so merge functions and other queries' data apply); with ``no-cache`` it
sees the answer as it came. The chapter's client sets ``FetchPolicy.noCache`` for
every mutation "to not cache mutations": that also keeps the mutation's answer
out of the normalized store, so no other view of the changed entity updates.

An **error policy** decides what a caller gets from an answer carrying GraphQL
``errors`` (:data:`ERROR_TABLE`, :func:`apply_error_policy`): ``none`` raises and
discards the data, ``ignore`` returns the data and drops the errors, ``all``
returns both. A network failure (no GraphQL answer at all) raises under every
policy, as in graphql_flutter (Apollo Client 4 applies ``errorPolicy`` to network errors
too). Under ``ignore`` and ``all`` the data is written to the cache: a field
that failed arrives as ``null`` and replaces what the cache held — which is what
the chapter's ``ErrorPolicy.all`` default does to a cached ``me`` after a token
expires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rtlab.errors import RtlabError


class FetchPolicy(StrEnum):
    CACHE_FIRST = "cache-first"
    CACHE_AND_NETWORK = "cache-and-network"
    NETWORK_ONLY = "network-only"
    NO_CACHE = "no-cache"
    CACHE_ONLY = "cache-only"


class CacheStatus(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    MISSING = "missing"


class Now(StrEnum):
    """What the caller is shown before any network answer."""

    CACHED = "cached"  # the complete cached result
    LOADING = "loading"  # nothing yet; the network answer will come
    MISS = "miss"  # nothing, and nothing will come: a cache-only miss (an error to show)


class Then(StrEnum):
    """What the caller is shown when the network answers."""

    NOTHING = "nothing"  # no network request was made
    READ_BACK = "read-back"  # the query read back from the cache after the write
    ANSWER = "answer"  # the answer as received (not written)


@dataclass(frozen=True)
class Decision:
    now: Now
    network: bool
    write: bool
    then: Then


_CACHED_ONLY = Decision(Now.CACHED, False, False, Then.NOTHING)
_FETCH = Decision(Now.LOADING, True, True, Then.READ_BACK)

FETCH_TABLE: dict[tuple[FetchPolicy, CacheStatus], Decision] = {
    (FetchPolicy.CACHE_FIRST, CacheStatus.COMPLETE): _CACHED_ONLY,
    (FetchPolicy.CACHE_FIRST, CacheStatus.PARTIAL): _FETCH,
    (FetchPolicy.CACHE_FIRST, CacheStatus.MISSING): _FETCH,
    (FetchPolicy.CACHE_AND_NETWORK, CacheStatus.COMPLETE):
        Decision(Now.CACHED, True, True, Then.READ_BACK),
    (FetchPolicy.CACHE_AND_NETWORK, CacheStatus.PARTIAL): _FETCH,
    (FetchPolicy.CACHE_AND_NETWORK, CacheStatus.MISSING): _FETCH,
    (FetchPolicy.NETWORK_ONLY, CacheStatus.COMPLETE): _FETCH,
    (FetchPolicy.NETWORK_ONLY, CacheStatus.PARTIAL): _FETCH,
    (FetchPolicy.NETWORK_ONLY, CacheStatus.MISSING): _FETCH,
    (FetchPolicy.NO_CACHE, CacheStatus.COMPLETE): Decision(Now.LOADING, True, False, Then.ANSWER),
    (FetchPolicy.NO_CACHE, CacheStatus.PARTIAL): Decision(Now.LOADING, True, False, Then.ANSWER),
    (FetchPolicy.NO_CACHE, CacheStatus.MISSING): Decision(Now.LOADING, True, False, Then.ANSWER),
    (FetchPolicy.CACHE_ONLY, CacheStatus.COMPLETE): _CACHED_ONLY,
    (FetchPolicy.CACHE_ONLY, CacheStatus.PARTIAL): Decision(Now.MISS, False, False, Then.NOTHING),
    (FetchPolicy.CACHE_ONLY, CacheStatus.MISSING): Decision(Now.MISS, False, False, Then.NOTHING),
}

MUTATION_POLICIES = (FetchPolicy.NETWORK_ONLY, FetchPolicy.NO_CACHE)


def status_of(complete: bool, data: Any) -> CacheStatus:
    """The cache status of a read: ``cache.diff(...)`` gives ``complete`` and ``data``."""
    if complete:
        return CacheStatus.COMPLETE
    return CacheStatus.PARTIAL if data else CacheStatus.MISSING


def decide(policy: FetchPolicy | str, status: CacheStatus | str) -> Decision:
    """The fetch table's cell for ``policy`` and what the cache holds."""
    try:
        return FETCH_TABLE[(FetchPolicy(policy), CacheStatus(status))]
    except ValueError:
        known = ", ".join(p.value for p in FetchPolicy)
        raise ValueError(f"unknown fetch policy {policy!r} (known: {known}) "
                         f"or cache status {status!r}") from None


def decide_mutation(policy: FetchPolicy | str) -> Decision:
    """Mutations always go to the network; the policy only says whether the answer is cached."""
    p = FetchPolicy(policy)
    if p not in MUTATION_POLICIES:
        raise ValueError(f"a mutation takes network-only or no-cache, not {p.value}")
    return FETCH_TABLE[(p, CacheStatus.MISSING)]


class ErrorPolicy(StrEnum):
    NONE = "none"
    IGNORE = "ignore"
    ALL = "all"


class Answer(StrEnum):
    """What came back."""

    OK = "ok"  # data, no errors
    PARTIAL = "partial"  # data and errors (some fields failed)
    ERRORS = "errors"  # errors and no data (data null or absent)
    NETWORK = "network"  # no GraphQL answer at all (refused, timed out, 5xx)


@dataclass(frozen=True)
class ErrorDecision:
    raise_error: bool  # raise to the caller (the errors, or the network error)
    data: bool  # the caller gets the answer's data
    errors: bool  # the caller gets the errors alongside
    write: bool  # the data goes into the cache (when the fetch policy writes)


_OK = ErrorDecision(False, True, False, True)
_RAISE = ErrorDecision(True, False, False, False)

ERROR_TABLE: dict[tuple[ErrorPolicy, Answer], ErrorDecision] = {
    (ErrorPolicy.NONE, Answer.OK): _OK,
    (ErrorPolicy.NONE, Answer.PARTIAL): _RAISE,
    (ErrorPolicy.NONE, Answer.ERRORS): _RAISE,
    (ErrorPolicy.NONE, Answer.NETWORK): _RAISE,
    (ErrorPolicy.IGNORE, Answer.OK): _OK,
    (ErrorPolicy.IGNORE, Answer.PARTIAL): ErrorDecision(False, True, False, True),
    (ErrorPolicy.IGNORE, Answer.ERRORS): ErrorDecision(False, True, False, False),
    (ErrorPolicy.IGNORE, Answer.NETWORK): _RAISE,
    (ErrorPolicy.ALL, Answer.OK): _OK,
    (ErrorPolicy.ALL, Answer.PARTIAL): ErrorDecision(False, True, True, True),
    (ErrorPolicy.ALL, Answer.ERRORS): ErrorDecision(False, True, True, False),
    (ErrorPolicy.ALL, Answer.NETWORK): _RAISE,
}


def answer_of(data: Any, errors: Sequence[Any] | None) -> Answer:
    """Classify a GraphQL answer (``NETWORK`` is for the caller to pass on a transport failure)."""
    if errors:
        return Answer.PARTIAL if data else Answer.ERRORS
    return Answer.OK


class GraphQLErrors(RtlabError):
    """The answer carried GraphQL errors and the error policy is ``none``."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else {}
        message = first.get("message", "GraphQL error") if isinstance(first, Mapping) else first
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{message}{more}")


@dataclass(frozen=True)
class Outcome:
    """What the caller gets: ``data`` and ``errors`` (either may be None), and whether
    the data may be written to the cache."""

    data: Any
    errors: tuple[Any, ...] | None
    write: bool


def apply_error_policy(policy: ErrorPolicy | str, data: Any,
                       errors: Sequence[Any] | None) -> Outcome:
    """The caller's view of a GraphQL answer under ``policy``; raises :class:`GraphQLErrors`."""
    cell = ERROR_TABLE[(ErrorPolicy(policy), answer_of(data, errors))]
    if cell.raise_error:
        raise GraphQLErrors(errors or [])
    return Outcome(
        data if cell.data else None,
        tuple(errors) if cell.errors and errors else None,
        cell.write and data is not None,
    )
