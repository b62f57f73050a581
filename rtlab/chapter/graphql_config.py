"""The chapter's ``GraphQLConfig`` (section 21.1, ``graphql_config.dart``), mistakes kept.

Pitfalls sections run this next to a correctly built :class:`rtlab.graphql.GraphQLClient`
against the real demo server. It mirrors the Dart code's *behaviour*:

1. ``attempt_token_refresh()`` reads the refresh token, refreshes nothing ("Implement
   refresh logic here") and returns ``True``; ``get_token()`` then reads the same expired
   access token and sends it. Every request after expiry answers ``UNAUTHENTICATED``.
2. The expiry check has no margin: a token with 50 ms to live is "fresh", and expires
   on its way to the server.
3. The error link only *logs* ``UNAUTHENTICATED`` and calls ``_handleAuthError``, which
   logs again. Nothing refreshes, nothing retries; and the error link sits *after* the
   auth link, so it could not have asked it for a new token anyway.
4. Mutations default to ``FetchPolicy.noCache``: a mutation's answer is never written to
   the normalized cache, so every view showing the changed entity stays stale.
5. Subscriptions are split off *before* the auth and error links: the WebSocket link gets
   a token only through ``initialPayload``, which reads it with no expiry check at all
   (an expired token is sent as is, and ``'Bearer null'`` when signed out).
6. ``GraphQLProviderWidget`` calls ``GraphQLConfig().getClient()`` inside ``build()``:
   every rebuild creates a new client with a new, empty cache, so ``cache-first`` never
   finds anything (:meth:`ChapterGraphQLConfig.provider_build`).
7. The comments disagree about link order ("composed from right to left" vs "they chain
   from left to right"); the code runs auth, then error, then HTTP.

``log`` collects what ``debugPrint`` would have printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from rtlab.graphql.client import GraphQLClient
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import AuthLink, ErrorLink, Link, Operation, Response, chain, split


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
            answer = (await http.post(f"{base_url.rstrip('/')}/auth/login",
                                      json={"username": username, "password": password})).json()
        self.access_token = answer["access_token"]
        self.refresh_token = answer["refresh_token"]
        self.expires_at = self.clock() + float(answer["expires_in"])

    def is_token_expired(self) -> bool:
        return self.expires_at is not None and self.clock() >= self.expires_at


class ChapterGraphQLConfig:
    """``GraphQLConfig`` of the chapter, mistakes kept (see the module docs)."""

    def __init__(self, server_url: str, storage: ChapterSecureStorage | None = None,
                 ws_link: Link | None = None) -> None:
        self.http_endpoint = f"{server_url.rstrip('/')}/graphql"
        self.storage = storage or ChapterSecureStorage()
        self.ws_link = ws_link
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

    def link(self) -> Link:
        http_chain = chain(self.auth_link(), self.error_link(), self.http_link())
        if self.ws_link is None:
            return http_chain
        return split(lambda op: op.kind == "subscription", self.ws_link, http_chain)

    async def get_client(self, cache: Any = None) -> GraphQLClient:
        """The chapter's defaults: queries cache-and-network + errors all; mutations no-cache."""
        return GraphQLClient(
            self.link(),
            cache,
            fetch_policy="cache-and-network",
            error_policy="all",
            mutation_fetch_policy="no-cache",
        )

    @classmethod
    async def provider_build(cls, server_url: str,
                             storage: ChapterSecureStorage | None = None) -> GraphQLClient:
        """What ``GraphQLProviderWidget.build`` does on every rebuild: a brand-new client."""
        return await cls(server_url, storage).get_client()
