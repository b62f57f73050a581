"""Access tokens that stay fresh: log in once, refresh ahead of expiry, rotate refresh tokens.

The chapter's ``_attemptTokenRefresh`` returns ``true`` without refreshing
anything, then reads the same expired token again. :class:`TokenManager` does
the real thing, against the lab's ``/auth/login`` and ``/auth/refresh`` or any
server's JSON endpoints (:class:`AuthEndpoints` names the paths and fields):

* ``await tokens.token()`` returns a token valid for at least ``margin``
  seconds more, refreshing first when it is not (the decision is the pure
  :func:`needs_refresh`, so it can be shown with exact numbers);
* ``await tokens.refresh()`` forces a refresh (what a link calls after an
  ``UNAUTHENTICATED`` answer) and stores the *new* refresh token: the server
  rotates them, and the old one is refused;
* concurrent callers share one refresh instead of racing to spend the same
  refresh token twice (the second would be refused as a replay);
* every login and refresh is recorded on a timeline, so a notebook can draw it.

A server that hands out no refresh token (or has no refresh endpoint) gets a new
login instead; one that says nothing about expiry (no ``expires_in``) keeps a token
until it is refused.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from rtlab import urls
from rtlab.errors import AuthenticationFailed
from rtlab.knobs import non_negative, positive
from rtlab.state import NOTE, Timeline


def needs_refresh(expires_at: float | None, now: float, margin: float) -> bool:
    """True when a token expiring at ``expires_at`` has less than ``margin`` seconds left."""
    return expires_at is None or now >= expires_at - margin


@dataclass(frozen=True)
class AuthEndpoints:
    """Where a server logs in and refreshes, and what it calls the fields (JSON both ways).

    The defaults are the lab's contract: ``POST /auth/login {username, password}`` and
    ``POST /auth/refresh {refresh_token}`` both answer ``{access_token, refresh_token,
    expires_in}``. ``refresh_path=None``: the server has no refresh, log in again.
    ``extra`` is sent with every login (e.g. ``{"grant_type": "password"}``).
    """

    login_path: str = "/auth/login"
    refresh_path: str | None = "/auth/refresh"
    username_field: str = "username"
    password_field: str = "password"
    access_token_field: str = "access_token"
    refresh_token_field: str = "refresh_token"  # in the answers and in the refresh request
    expires_in_field: str = "expires_in"
    extra: Mapping[str, Any] = field(default_factory=dict)


#: The lab's own endpoints (the defaults).
LAB_ENDPOINTS = AuthEndpoints()


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float  # on the manager's clock; inf when the server did not say


def _reason(response: httpx.Response) -> str:
    """What a refusing auth endpoint said, in one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("error_description", "error", "detail", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return str(body)[:200]


async def post_json(url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """POST ``body`` as JSON; the JSON object answered, or :class:`AuthenticationFailed`."""
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        response = await http.post(url, json=dict(body))
    if response.status_code != 200:
        raise AuthenticationFailed(f"{url} answered {response.status_code}: "
                                   f"{_reason(response)}", response.status_code)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise AuthenticationFailed(f"{url} answered 200 but not a JSON object: "
                                   f"{response.text[:200]!r}", 200)
    return answer


def _field(answer: Mapping[str, Any], name: str, url: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise AuthenticationFailed(f"{url} answered no {name!r} (got fields "
                                   f"{sorted(answer)}): set AuthEndpoints' field names")
    return value


async def login(base_url: str, username: str, password: str, *,
                endpoints: AuthEndpoints = LAB_ENDPOINTS,
                timeout: float = 5.0) -> dict[str, Any]:
    """One login: the server's answer (a JSON object holding at least the access token)."""
    url = urls.join(base_url, endpoints.login_path)
    answer = await post_json(url, {**endpoints.extra, endpoints.username_field: username,
                                   endpoints.password_field: password}, timeout)
    _field(answer, endpoints.access_token_field, url)
    return answer


class TokenManager:
    """Keeps one user's access token fresh (see the module docs)."""

    def __init__(self, base_url: str, username: str, password: str = "password", *,
                 margin: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 timeline: Timeline | None = None, timeout: float = 5.0,
                 endpoints: AuthEndpoints = LAB_ENDPOINTS) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self.margin = non_negative("margin", margin)
        self.timeout = positive("timeout", timeout)
        self.clock, self.endpoints = clock, endpoints
        self.timeline = timeline if timeline is not None else Timeline()
        self.tokens: Tokens | None = None
        self.logins = 0
        self.refreshes = 0
        self._lock = asyncio.Lock()

    def _store(self, answer: Mapping[str, Any], url: str) -> str:
        ep = self.endpoints
        expires_in = answer.get(ep.expires_in_field)
        ttl = float(expires_in) if isinstance(expires_in, int | float) else math.inf
        refresh = answer.get(ep.refresh_token_field)
        self.tokens = Tokens(_field(answer, ep.access_token_field, url),
                             refresh if isinstance(refresh, str) and refresh else None,
                             self.clock() + ttl)
        return self.tokens.access_token

    async def login(self) -> str:
        answer = await login(self.base_url, self.username, self.password,
                             endpoints=self.endpoints, timeout=self.timeout)
        self.logins += 1
        self.timeline.record(NOTE, detail=f"logged in as {self.username}")
        return self._store(answer, urls.join(self.base_url, self.endpoints.login_path))

    async def refresh(self) -> str:
        """Spend the refresh token for a new pair; log in again if it was refused (or the
        server has no refresh)."""
        async with self._lock:
            return await self._refresh_locked(stale=self.tokens)

    async def _refresh_locked(self, stale: Tokens | None) -> str:
        if self.tokens is not stale and self.tokens is not None:
            return self.tokens.access_token  # someone refreshed while we waited
        ep = self.endpoints
        if self.tokens is None or self.tokens.refresh_token is None or ep.refresh_path is None:
            return await self.login()
        url = urls.join(self.base_url, ep.refresh_path)
        try:
            answer = await post_json(url, {ep.refresh_token_field: self.tokens.refresh_token},
                                     self.timeout)
        except AuthenticationFailed as exc:
            self.timeline.record(NOTE, detail=f"refresh refused ({exc}); logging in again")
            return await self.login()
        self.refreshes += 1
        self.timeline.record(NOTE, detail="access token refreshed")
        return self._store(answer, url)

    async def token(self) -> str:
        """An access token with at least ``margin`` seconds to live."""
        tokens = self.tokens
        if tokens is not None and not needs_refresh(tokens.expires_at, self.clock(), self.margin):
            return tokens.access_token
        async with self._lock:
            return await self._refresh_locked(stale=tokens)

    async def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer …"}``: pass the method itself as a client's ``headers``."""
        return {"Authorization": f"Bearer {await self.token()}"}


__all__ = ["LAB_ENDPOINTS", "AuthEndpoints", "TokenManager", "Tokens", "login", "needs_refresh",
           "post_json"]
