"""The chapter's ``graphql_operations.dart`` (21.1, seed l.263-532), ported with its mistakes.

The documents are the chapter's own text. What goes wrong when they run, with the line:

1. **Pagination that repeats page one.** ``fetchMore`` sends ``{'limit': 10, 'offset': 10}``
   (l.335) with ``GetUser``, which declares only ``$userId`` (l.279) and hard-codes
   ``posts(limit: 10)`` (l.285). A GraphQL server ignores variables an operation does not
   declare, so "page 2" is page 1 again, and ``updateQuery`` appends it (l.336-348): ten
   posts, each shown twice (:meth:`ChapterUserProfile.load_more`).
2. **An ``update`` that never updates.** ``cache.readQuery`` is called with ``GetUser``
   but no variables (l.408-414); ``$userId`` is required, so nothing can be read, the
   callback returns early, and the new post never reaches the list (:func:`chapter_update`).
3. **An optimistic result that cannot be normalized.** No ``__typename`` anywhere
   (l.391-402), and the author is ``{'id': 'current-user-id', 'name': 'Current User'}``
   (l.397-400): an entity that does not exist (:func:`chapter_optimistic_result`).
4. **Errors hide data.** The builder checks ``hasException`` (l.311-316) before looking at
   data, so with ``ErrorPolicy.all`` (the config's default, l.83) partial data that came
   with an error is thrown away and only the error is shown (:func:`chapter_builder`).
5. **A widget that does not build.** ``UserProfileQuery`` asks ``FetchPolicy.cacheFirst``
   with ``pollInterval: Duration(minutes: 5)`` (l.301-302). graphql_flutter refuses a poll
   on ``cacheFirst`` or ``cacheOnly``: ``Query`` builds its ``ObservableQuery`` through
   ``client.watchQuery(options.asWatchQueryOptions())`` (``fetchResults: true``, so
   ``eagerlyFetchResults``), whose constructor calls ``fetchResults()``, which starts the
   fetch and then ``startPolling(pollInterval)``, which throws (graphql
   ``observable_query.dart``; ``QueryManager.watchQuery`` registers the query only after
   the constructor returns). The exception escapes while the widget mounts: Flutter puts
   its error widget in the profile's place, the builder never runs, and "Refetch every 5
   minutes" never happens (:class:`CacheFirstPollingError`). Only with the poll removed
   does the widget build (:meth:`ChapterUserProfile.without_poll`); it then never
   refreshes what the cache holds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rtlab.chapter.documents import CREATE_POST, FETCH_MORE_VARIABLES, GET_USER
from rtlab.graphql.client import GraphQLClient, ObservableQuery, QueryResult
from rtlab.graphql.documents import CacheError, add_typename, parse_document

# The chapter's names for its documents (one verbatim copy lives in rtlab.chapter.documents).
FETCH_USER_QUERY = GET_USER
CREATE_POST_MUTATION = CREATE_POST

CHAPTER_FETCH_POLICY = "cache-first"  # fetchPolicy: FetchPolicy.cacheFirst (l.301)
CHAPTER_POLL_INTERVAL = 300.0  # pollInterval: Duration(minutes: 5) (l.302), in seconds

#: What graphql_flutter's ``ObservableQuery.startPolling`` throws, word for word.
CACHE_FIRST_POLLING = ("Queries that specify the cacheFirst and cacheOnly fetch policies "
                       "cannot also be polling queries.")


class CacheFirstPollingError(Exception):
    """graphql_flutter's refusal to poll a ``cacheFirst`` or ``cacheOnly`` query.

    Dart throws a plain ``Exception`` with :data:`CACHE_FIRST_POLLING`; this class gives
    the port's version a name to catch.
    """


def refuse_cache_first_poll(fetch_policy: str, poll_interval: float | None) -> None:
    """``ObservableQuery.startPolling``'s check: no poll on ``cache-first`` / ``cache-only``.

    ``fetchResults`` starts polling only for an interval above zero, so ``None`` and ``0``
    pass, as they do there. (Apollo Client 3 has no such rule: see
    :meth:`rtlab.graphql.client.GraphQLClient.watch_query`.)
    """
    if poll_interval and fetch_policy in ("cache-first", "cache-only"):
        raise CacheFirstPollingError(CACHE_FIRST_POLLING)


def update_query(existing: Mapping[str, Any] | None,
                 fresh: Mapping[str, Any] | None) -> dict[str, Any]:
    """The chapter's ``updateQuery``: append the fresh posts to the existing ones, as they are."""
    posts = [*((existing or {}).get("user") or {}).get("posts", []),
             *((fresh or {}).get("user") or {}).get("posts", [])]
    return {"user": {**(existing or {}).get("user", {}), "posts": posts}}


def chapter_optimistic_result(title: str, content: str,
                              now: float | None = None) -> dict[str, Any]:
    """``optimisticResult`` as written: no ``__typename``, a made-up author."""
    now = time.time() if now is None else now
    return {
        "createPost": {
            "id": f"temp-{int(now * 1000)}",
            "title": title,
            "content": content,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)),
            "author": {"id": "current-user-id", "name": "Current User"},
        }
    }


class UpdateLog(list):
    """What :func:`chapter_update` did, one line per call (the Dart code says nothing)."""


def chapter_update(log: UpdateLog | None = None):
    """The chapter's ``update`` callback: ``readQuery`` of ``GetUser`` with no variables.

    graphql_flutter answers such a read with ``null``; rtlab's cache refuses it with an
    error naming ``$userId``. Either way the callback returns before writing anything.
    """

    def update(cache: Any, result: QueryResult) -> None:
        if result.data is None:
            return
        try:
            existing = cache.read_query(FETCH_USER_QUERY)  # no variables: $userId is missing
        except CacheError as exc:
            existing = None  # what graphql_flutter's readQuery returns here
            if log is not None:
                log.append(f"readQuery gave nothing ({exc})")
        if existing is None:
            return
        new_posts = [result.data["createPost"], *existing["user"]["posts"]]
        cache.write_query(FETCH_USER_QUERY, None,
                          {"user": {**existing["user"], "posts": new_posts}})
        if log is not None:
            log.append("post added to the list")

    return update


def chapter_builder(result: QueryResult) -> str:
    """``UserProfileQuery``'s builder: what the screen shows for a result, in its order."""
    if result.loading and result.data is None:
        return "CircularProgressIndicator"
    if result.errors or result.network_error is not None:
        return f"ErrorWidget: {result.error}"
    user = (result.data or {}).get("user")
    if user is None:
        return "User not found"
    return f"UserProfileView: {user.get('name')} ({len(user.get('posts') or [])} posts)"


class ChapterUserProfile:
    """``UserProfileQuery`` for one user: the chapter's options, and its ``fetchMore``.

    As written (``cacheFirst`` and a five-minute ``pollInterval``, seed l.299-302) it does
    not build: the constructor raises :class:`CacheFirstPollingError`, where
    graphql_flutter's ``ObservableQuery`` constructor throws (``fetchResults`` ->
    ``startPolling``, ``packages/graphql/lib/src/core/observable_query.dart``,
    zino-hofmann/graphql-flutter e909a775). One difference: graphql_flutter has already
    started the first fetch when it throws (on a cache miss the request still goes out and
    its answer reaches the cache, for no widget); the port refuses before sending anything.

    :meth:`without_poll` builds it as the chapter would after deleting ``pollInterval``:
    cache-first, no poll, so nothing ever refreshes what the cache holds.
    """

    def __init__(self, client: GraphQLClient, user_id: str, *,
                 poll_interval: float | None = CHAPTER_POLL_INTERVAL) -> None:
        refuse_cache_first_poll(CHAPTER_FETCH_POLICY, poll_interval)
        self.client = client
        self.user_id = user_id
        self.query: ObservableQuery = client.watch_query(
            FETCH_USER_QUERY, {"userId": user_id}, fetch_policy=CHAPTER_FETCH_POLICY
        )

    @classmethod
    def without_poll(cls, client: GraphQLClient, user_id: str) -> ChapterUserProfile:
        """The widget with ``pollInterval`` deleted: the one change that lets it build."""
        return cls(client, user_id, poll_interval=None)

    async def load_more(self) -> list[str]:
        """``fetchMore(variables: {'limit': 10, 'offset': 10}, updateQuery: ...)``, as
        graphql_flutter runs it: the extra variables merged in and sent, unchecked.
        Returns the post ids the list then shows."""
        await self.query.settled()
        variables = {"userId": self.user_id, **FETCH_MORE_VARIABLES}
        doc = add_typename(parse_document(FETCH_USER_QUERY))
        fresh = await self.client._send(doc, "GetUser", variables)  # no declaration check
        merged = update_query(self.query.result.data, fresh.data)
        self.client.cache.write_query(doc, {"userId": self.user_id}, merged)
        await self.query.settled()
        return [p["id"] for p in (self.query.result.data or {})["user"]["posts"]]

    async def close(self) -> None:
        await self.query.close()
