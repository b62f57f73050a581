"""Access tokens that stay fresh: log in once, refresh ahead of expiry, rotate refresh tokens.

The chapter's ``_attemptTokenRefresh`` returns ``true`` without refreshing
anything, then reads the same expired token again. :class:`TokenManager` does
the real thing against the lab's ``/auth/login`` and ``/auth/refresh``:

* ``await tokens.token()`` returns a token valid for at least ``margin``
  seconds more, refreshing first when it is not (the decision is the pure
  :func:`needs_refresh`, so it can be shown with exact numbers);
* ``await tokens.refresh()`` forces a refresh (what a link calls after an
  ``UNAUTHENTICATED`` answer) and stores the *new* refresh token: the server
  rotates them, and the old one is refused;
* concurrent callers share one refresh instead of racing to spend the same
  refresh token twice (the second would be refused as a replay);
* every login and refresh is recorded on a timeline, so a notebook can draw it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from rtlab import urls
from rtlab.errors import AuthenticationFailed
from rtlab.state import NOTE, Timeline


def needs_refresh(expires_at: float | None, now: float, margin: float) -> bool:
    """True when a token expiring at ``expires_at`` has less than ``margin`` seconds left."""
    return expires_at is None or now >= expires_at - margin


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # on the manager's clock


class TokenManager:
    """Keeps one user's access token fresh (see the module docs)."""

    def __init__(self, base_url: str, username: str, password: str = "password", *,
                 margin: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 timeline: Timeline | None = None, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self.margin, self.clock, self.timeout = margin, clock, timeout
        self.timeline = timeline if timeline is not None else Timeline()
        self.tokens: Tokens | None = None
        self.logins = 0
        self.refreshes = 0
        self._lock = asyncio.Lock()

    async def _post(self, path: str, body: dict[str, str]) -> dict:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            response = await http.post(urls.join(self.base_url, path), json=body)
        if response.status_code != 200:
            try:
                reason = response.json().get("error", response.text)
            except ValueError:
                reason = response.text
            raise AuthenticationFailed(f"{path} answered {response.status_code}: {reason}",
                                       response.status_code)
        return response.json()

    def _store(self, answer: dict) -> str:
        self.tokens = Tokens(
            answer["access_token"],
            answer["refresh_token"],
            self.clock() + float(answer["expires_in"]),
        )
        return self.tokens.access_token

    async def login(self) -> str:
        answer = await self._post(
            "/auth/login", {"username": self.username, "password": self.password}
        )
        self.logins += 1
        self.timeline.record(NOTE, detail=f"logged in as {self.username}")
        return self._store(answer)

    async def refresh(self) -> str:
        """Spend the refresh token for a new pair; log in again if it was refused."""
        async with self._lock:
            return await self._refresh_locked(stale=self.tokens)

    async def _refresh_locked(self, stale: Tokens | None) -> str:
        if self.tokens is not stale and self.tokens is not None:
            return self.tokens.access_token  # someone refreshed while we waited
        if self.tokens is None:
            return await self.login()
        try:
            answer = await self._post("/auth/refresh", {"refresh_token": self.tokens.refresh_token})
        except AuthenticationFailed as exc:
            self.timeline.record(NOTE, detail=f"refresh refused ({exc}); logging in again")
            return await self.login()
        self.refreshes += 1
        self.timeline.record(NOTE, detail="access token refreshed")
        return self._store(answer)

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
