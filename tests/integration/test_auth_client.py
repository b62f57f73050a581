"""TokenManager against the real /auth endpoints: refresh ahead of expiry, rotation, no races."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rtlab.auth import TokenManager, needs_refresh
from rtlab.errors import AuthenticationFailed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_needs_refresh_table() -> None:
    assert needs_refresh(None, 0, 30)
    assert not needs_refresh(100.0, 69.9, 30)
    assert needs_refresh(100.0, 70.0, 30)
    assert needs_refresh(100.0, 150.0, 30)


async def test_login_then_tokens_are_reused_until_the_margin(shared_server) -> None:
    clock = Clock()
    tokens = TokenManager(shared_server.url, "alice", margin=30, clock=clock)
    first = await tokens.token()
    assert tokens.logins == 1
    assert await tokens.token() == first  # still fresh: no network
    clock.now += 900 - 29  # 29 s left, under the 30 s margin
    second = await tokens.token()
    assert second != first and tokens.refreshes == 1
    async with httpx.AsyncClient() as http:
        me = await http.get(
            shared_server.http_url("/auth/me"), headers={"Authorization": f"Bearer {second}"}
        )
    assert me.json()["username"] == "alice"


async def test_refresh_rotates_and_concurrent_callers_share_one_refresh(shared_server) -> None:
    clock = Clock()
    tokens = TokenManager(shared_server.url, "bob", clock=clock)
    await tokens.token()
    old_refresh = tokens.tokens.refresh_token
    clock.now += 10_000  # long expired
    results = await asyncio.gather(*(tokens.token() for _ in range(10)))
    assert len(set(results)) == 1 and tokens.refreshes == 1
    assert tokens.tokens.refresh_token != old_refresh
    async with httpx.AsyncClient() as http:
        replay = await http.post(
            shared_server.http_url("/auth/refresh"), json={"refresh_token": old_refresh}
        )
    assert replay.status_code == 401


async def test_a_refused_refresh_falls_back_to_login(shared_server) -> None:
    tokens = TokenManager(shared_server.url, "carol")
    await tokens.token()
    async with httpx.AsyncClient() as http:  # someone else spends our refresh token
        await http.post(
            shared_server.http_url("/auth/refresh"),
            json={"refresh_token": tokens.tokens.refresh_token},
        )
    await tokens.refresh()
    assert tokens.logins == 2 and any("refused" in e.detail for e in tokens.timeline)


async def test_wrong_password_is_a_clear_error(shared_server) -> None:
    with pytest.raises(AuthenticationFailed, match="401"):
        await TokenManager(shared_server.url, "alice", "wrong").token()
