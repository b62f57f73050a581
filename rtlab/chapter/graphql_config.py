"""The chapter's ``GraphQLConfig`` (section 21.1, ``graphql_config.dart``, seed l.47-249).

Pitfalls sections run this next to a correctly built :class:`rtlab.graphql.GraphQLClient`
against the real demo server. It mirrors the Dart code's *behaviour*; each mistake
names the seed line it comes from:

1. ``_attemptTokenRefresh`` reads the refresh token, refreshes nothing ("Implement
   refresh logic here", l.200) and ``return true;`` (l.204); ``getToken`` then reads the
   same expired access token again (l.109) and sends it. Every request after expiry
   answers ``UNAUTHENTICATED``.
2. ``isTokenExpired()`` (l.102) has no margin: a token with 50 ms to live is "fresh", and
   expires on its way to the server.
3. The error link only *logs* ``UNAUTHENTICATED`` and calls ``_handleAuthError`` (l.137-140),
   which logs again (l.211-215). Nothing refreshes, nothing retries; and the error link
   sits *after* the auth link (l.74), so it could not have asked it for a new token anyway.
4. ``mutate: Policies(fetch: FetchPolicy.noCache)`` (l.85-87): a mutation's answer is never
   written to the normalized cache, so every view showing the changed entity stays stale.
5. ``Link.split(... _getWebSocketLink(), _getAuthLink().concat(...))`` (l.71-75) sends
   subscriptions past the auth link: the WebSocket gets a token only through
   ``initialPayload`` (l.169-175), which reads it with no expiry check at all
   (``'Bearer $token'``, l.173: an expired token is sent as is, ``'Bearer null'`` when
   signed out).
6. ``FutureBuilder(future: GraphQLConfig().getClient())`` inside ``build`` (l.226-227): every
   rebuild makes a new client, link chain and ``WebSocketLink``, and none is ever disposed
   (:meth:`ChapterGraphQLConfig.provider_build`, :class:`ChapterProviderWidget`). The cache
   is *not* empty after a rebuild: ``HiveStore.open()`` (l.60) hands back the box already
   open (graphql_flutter ``hive_store.dart``: "If the box is already open, the instance is
   returned"), so the new client reads what the old one wrote. The costs are elsewhere:
   a socket per build left open, queries watched on the old client never hear of the new
   one's writes, and the ``FutureBuilder`` shows its spinner in place of the whole app
   (unmounting it) until the new client is ready. And Hive is never initialised: without
   ``initHiveForFlutter()`` the first ``HiveStore.open()`` throws (:class:`ChapterHive`).
7. The comments disagree about link order ("composed from right to left", l.70, vs "they
   chain from left to right", l.256); the code runs auth, then error, then HTTP.

``log`` collects what ``debugPrint`` would have printed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from rtlab import urls
from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.client import GraphQLClient
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import AuthLink, ErrorLink, Link, Operation, Response, chain, split
from rtlab.graphql.ws import WebSocketLink

DEFAULT_BOX = "graphqlClientStore"  # HiveStore.defaultBoxName


class HiveError(RuntimeError):
    """Hive's error for a box opened before ``Hive.init`` / ``initHiveForFlutter()``."""


class ChapterHive:
    """Hive as the chapter's ``HiveStore.open()`` meets it: boxes shared by name.

    A box is opened once per process; opening it again hands back the open box (its
    entities as they are). Opening one before :meth:`init_for_flutter` raises
    :class:`HiveError`, as Hive does: the chapter never initialises Hive.
    """

    def __init__(self) -> None:
        self.initialised = False
        self.boxes: dict[str, dict[str, dict[str, Any]]] = {}
        self.opens = 0

    def init_for_flutter(self) -> None:
        """``await initHiveForFlutter()``: the call the chapter leaves out."""
        self.initialised = True

    def open_box(self, name: str = DEFAULT_BOX) -> dict[str, dict[str, Any]]:
        """``HiveStore.open()``: the open box when there is one, else a new empty one."""
        if not self.initialised:
            raise HiveError("You need to initialize Hive or provide a path to store the box.")
        self.opens += 1
        return self.boxes.setdefault(name, {})


def cache_over(box: dict[str, dict[str, Any]]) -> NormalizedCache:
    """``GraphQLCache(store: HiveStore(box))``: a new cache over the box's entities.

    It starts from what the box holds and writes every change back to it, so a
    client built later over the same box reads what this one wrote.
    """
    cache = NormalizedCache()
    cache.restore(box)

    def write_back(ids: frozenset[str]) -> None:
        for eid in ids:
            fields = cache.get(eid, optimistic=False)
            if fields is None:
                box.pop(eid, None)
            else:
                box[eid] = fields

    cache.on_change(write_back)
    return cache


@dataclass
class ChapterSecureStorage:
    """Stands in for the chapter's ``SecureStorageService``: tokens from a real login.

    ``is_token_expired`` compares with no margin, as the Dart call implies.
    """

    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: float | None = None
    clock: Callable[[], float] = time.monotonic

    async def login(self, base_url: str, username: str, password: str = "password") -> None:
        """Fill the storage from ``/auth/login`` (the chapter does this elsewhere)."""
        async with httpx.AsyncClient(timeout=5) as http:
            answer = (await http.post(urls.join(base_url, "/auth/login"),
                                      json={"username": username, "password": password})).json()
        self.access_token = answer["access_token"]
        self.refresh_token = answer["refresh_token"]
        self.expires_at = self.clock() + float(answer["expires_in"])

    def is_token_expired(self) -> bool:
        return self.expires_at is not None and self.clock() >= self.expires_at


class ChapterGraphQLConfig:
    """``GraphQLConfig`` of the chapter, mistakes kept (see the module docs)."""

    def __init__(self, server_url: str, storage: ChapterSecureStorage | None = None,
                 ws_link: Link | None = None, hive: ChapterHive | None = None) -> None:
        self.http_endpoint = urls.join(server_url, "/graphql")  # Dart: '$serverUrl/graphql'
        self.ws_endpoint = urls.websocket(self.http_endpoint)
        self.storage = storage or ChapterSecureStorage()
        self.ws_link = ws_link
        self.hive = hive
        self.log: list[str] = []
        self.refresh_attempts = 0
        self.http: HttpLink | None = None

    def _debug_print(self, line: str) -> None:
        self.log.append(line)

    async def attempt_token_refresh(self) -> bool:
        """Reads the refresh token, refreshes nothing, reports success."""
        try:
            refresh_token = self.storage.refresh_token
            if refresh_token is None:
                return False
            self.refresh_attempts += 1
            # Implement refresh logic here  (the chapter's own comment; nothing follows)
            return True
        except Exception:  # noqa: BLE001 - as the Dart catch-all
            return False

    async def get_token(self) -> str | None:
        token = self.storage.access_token
        if token is None:
            return None
        if self.storage.is_token_expired():
            refreshed = await self.attempt_token_refresh()
            if not refreshed:
                return None
            return self.storage.access_token  # the same expired token, read again
        return token

    def handle_auth_error(self) -> None:
        self._debug_print("Authentication error: Token invalid or expired")

    def auth_link(self) -> AuthLink:
        """Header from ``get_token``; no refresh on ``UNAUTHENTICATED`` (the chapter has none)."""
        return AuthLink(self.get_token)

    def error_link(self) -> ErrorLink:
        def on_exception(_op: Operation, exc: Exception) -> None:
            self._debug_print(f"GraphQL Network Exception: {exc}")

        def on_graphql_error(_op: Operation, response: Response) -> None:
            for error in response.errors:
                self._debug_print(f"GraphQL Error: {error.get('message')}")
                if (error.get("extensions") or {}).get("code") == "UNAUTHENTICATED":
                    self.handle_auth_error()  # logs; no refresh, no retry

        return ErrorLink(on_network_error=on_exception, on_graphql_errors=on_graphql_error)

    def http_link(self) -> HttpLink:
        self.http = HttpLink(self.http_endpoint)
        return self.http

    def initial_payload(self) -> dict[str, str]:
        """The WebSocket ``connection_init`` payload: no expiry check, ``Bearer None`` if out."""
        return {"Authorization": f"Bearer {self.storage.access_token}"}

    def web_socket_link(self) -> Link:
        """``_getWebSocketLink()``: a new link (its socket opens on the first subscription)."""
        if self.ws_link is None:
            self.ws_link = WebSocketLink(self.ws_endpoint, init_payload=self.initial_payload,
                                         name="chapter")
        return self.ws_link

    def link(self) -> Link:
        http_chain = chain(self.auth_link(), self.error_link(), self.http_link())
        if self.ws_link is None and self.hive is None:
            return http_chain  # a caller that brought its own cache and no socket
        return split(lambda op: op.kind == "subscription", self.web_socket_link(), http_chain)

    async def get_client(self, cache: Any = None) -> GraphQLClient:
        """The chapter's defaults: queries cache-and-network + errors all; mutations no-cache.

        Without a ``cache``, the chapter's own: ``HiveStore.open()`` (from ``hive``) under a
        new ``GraphQLCache``.
        """
        if cache is None and self.hive is not None:
            cache = cache_over(self.hive.open_box())
        return GraphQLClient(
            self.link(),
            cache,
            fetch_policy="cache-and-network",
            error_policy="all",
            mutation_fetch_policy="no-cache",
        )

    @classmethod
    async def provider_build(cls, server_url: str, storage: ChapterSecureStorage | None = None,
                             hive: ChapterHive | None = None) -> GraphQLClient:
        """What ``GraphQLProviderWidget.build`` does on every rebuild: a brand-new client."""
        return await cls(server_url, storage, hive=hive).get_client()


class ChapterProviderWidget:
    """``GraphQLProviderWidget``: a ``FutureBuilder`` whose future is made in ``build``.

    Flutter's ``FutureBuilder.didUpdateWidget`` sees a new future on every rebuild, goes
    back to ``ConnectionState.waiting``, and this builder then returns the spinner in
    place of ``GraphQLProvider(child)``: the app below is unmounted and loses its state
    until the new client is ready. ``rebuild()`` is a parent rebuilding it; ``build()``
    is what it draws now. ``clients`` holds every client made (none is ever disposed).
    """

    def __init__(self, server_url: str, storage: ChapterSecureStorage | None = None,
                 hive: ChapterHive | None = None) -> None:
        self.server_url, self.storage, self.hive = server_url, storage, hive
        self.clients: list[GraphQLClient] = []
        self._future: asyncio.Task[GraphQLClient] | None = None

    def rebuild(self) -> asyncio.Task[GraphQLClient]:
        """``build(context)`` runs: ``future: GraphQLConfig().getClient()``, a new future."""
        async def get_client() -> GraphQLClient:
            client = await ChapterGraphQLConfig.provider_build(
                self.server_url, self.storage, self.hive)
            self.clients.append(client)
            return client

        self._future = asyncio.get_running_loop().create_task(get_client())
        return self._future

    def build(self) -> str:
        """What the ``FutureBuilder``'s builder returns right now, as text."""
        future = self._future
        if future is None or not future.done():
            return "Material(Center(CircularProgressIndicator()))"
        if future.exception() is not None:
            return f"Failed to initialize GraphQL: {future.exception()}"
        return f"GraphQLProvider(client #{self.clients.index(future.result()) + 1}, child: app)"

    async def dispose(self) -> None:
        """Close every client made (the notebook's tidy-up; the chapter never does)."""
        if self._future is not None:
            await asyncio.gather(self._future, return_exceptions=True)
        for client in self.clients:
            await client.close()
