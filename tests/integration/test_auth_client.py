"""TokenManager against the real /auth endpoints (refresh ahead of expiry, rotation, no races)
and against another server's auth service, with its own paths and field names."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rtlab.auth import AuthEndpoints, TokenManager, needs_refresh
from rtlab.errors import AuthenticationFailed
from rtlab.socketio import fresh_login


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


# -- another server's auth: other paths, other field names -------------------------------------
class OtherAuth:
    """A small Starlette auth service that is not ours: ``POST /api/token {user, pass}`` and
    ``POST /api/renew {renew}`` answer ``{token, renew, ttl}``; refusals say ``detail``."""

    def __init__(self) -> None:
        self.issued = 0
        self.current_renew: str | None = None
        self.app = Starlette(routes=[Route("/api/token", self.token, methods=["POST"]),
                                     Route("/api/renew", self.renew, methods=["POST"])])

    def _pair(self) -> JSONResponse:
        self.issued += 1
        self.current_renew = f"renew-{self.issued}"
        return JSONResponse({"token": f"token-{self.issued}", "renew": self.current_renew,
                             "ttl": 60})

    async def token(self, request: Request) -> JSONResponse:
        body = await request.json()
        if (body.get("user"), body.get("pass"), body.get("grant")) != ("ada", "s3cret", "pw"):
            return JSONResponse({"detail": "bad credentials"}, status_code=401)
        return self._pair()

    async def renew(self, request: Request) -> JSONResponse:
        if (await request.json()).get("renew") != self.current_renew:
            return JSONResponse({"detail": "renew token spent"}, status_code=401)
        return self._pair()


OTHER = AuthEndpoints(login_path="/api/token", refresh_path="/api/renew",
                      username_field="user", password_field="pass",
                      access_token_field="token", refresh_token_field="renew",
                      expires_in_field="ttl", extra={"grant": "pw"})


async def test_another_servers_paths_and_fields(serve_asgi) -> None:
    other = OtherAuth()
    base = await serve_asgi(other.app)
    clock = Clock()
    tokens = TokenManager(base, "ada", "s3cret", endpoints=OTHER, clock=clock, margin=5)
    assert await tokens.token() == "token-1" and tokens.tokens.refresh_token == "renew-1"
    assert await tokens.token() == "token-1"  # fresh: no request
    clock.now += 56  # 4 s left, under the 5 s margin
    assert await tokens.token() == "token-2" and tokens.refreshes == 1
    other.current_renew = "revoked"
    assert await tokens.refresh() == "token-3" and tokens.logins == 2  # refused: login again
    assert await fresh_login(base, "ada", "s3cret", endpoints=OTHER)() == "token-4"
    with pytest.raises(AuthenticationFailed, match="401: bad credentials"):
        await TokenManager(base, "ada", "wrong", endpoints=OTHER).token()


async def test_no_refresh_endpoint_and_no_expiry(serve_asgi) -> None:
    base = await serve_asgi(OtherAuth().app)
    bare = replace(OTHER, refresh_path=None, expires_in_field="none")
    tokens = TokenManager(base, "ada", "s3cret", endpoints=bare, margin=10**9)
    assert await tokens.token() == "token-1"
    assert await tokens.token() == "token-1"  # no expiry said: kept until refused
    assert await tokens.refresh() == "token-2" and tokens.logins == 2 and tokens.refreshes == 0


async def test_wrong_field_names_say_which_fields_came(serve_asgi) -> None:
    base = await serve_asgi(OtherAuth().app)
    wrong = replace(OTHER, access_token_field="access_token")
    with pytest.raises(AuthenticationFailed, match=r"no 'access_token' \(got fields "
                       r"\['renew', 'token', 'ttl'\]\)"):
        await TokenManager(base, "ada", "s3cret", endpoints=wrong).token()


@pytest.mark.parametrize("knob", [{"margin": -1}, {"timeout": 0}])
def test_knobs_are_checked(knob: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(knob))):
        TokenManager("http://127.0.0.1:9", "ada", **knob)
