"""Demo login with short-lived JWT access tokens and rotating refresh tokens.

Access tokens: HS256 JWTs signed with a random per-process secret (a restart signs everyone
out, which the course uses on purpose). Refresh tokens: opaque random strings, single use —
each refresh returns a new one and the old one answers 401, so a stolen token is noticed.
Other servers (GraphQL) call :func:`verify` to check a bearer token.

Worker processes (``--workers N``) sign with their master's secret (:data:`SECRET_ENV`), and
keep refresh tokens in the broker (:class:`servers.broker.tokens.RedisRefreshTokens`), so a
token issued by one worker is honoured, and rotated, by any other.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from starlette.requests import Request
from starlette.routing import Route

from servers import badinput, httpjson
from servers.httpjson import JSONResponse

if TYPE_CHECKING:
    from servers.app import Server

ALGORITHM = "HS256"
DEFAULT_TTL = 900
REFRESH_TTL = 24 * 3600
PASSWORD = "password"
USERS: dict[str, str] = {"alice": "1", "bob": "2", "carol": "3"}  # username -> id
MAX_BODY = 16 * 1024

#: the environment variable through which a master gives its workers one secret (hex)
SECRET_ENV = "RTLAB_JWT_SECRET"
_SECRET = bytes.fromhex(os.environ[SECRET_ENV]) if os.environ.get(SECRET_ENV) else \
    secrets.token_bytes(32)


class AuthError(Exception):
    """A token that must not be trusted; the message says why."""


def verify(token: str) -> dict[str, Any]:
    """Claims of a valid access token; AuthError on forged, expired, ``alg: none`` or
    malformed tokens (only HS256 with this process's secret is accepted)."""
    try:
        claims = jwt.decode(
            token, _SECRET, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    if claims.get("type") != "access":
        raise AuthError("not an access token")
    return claims


def bearer_claims(authorization: str | None) -> dict[str, Any]:
    """Claims from an ``Authorization: Bearer ...`` header value (AuthError if absent/bad)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError("missing bearer token")
    return verify(authorization[7:].strip())


class RefreshTokens(Protocol):
    """Where usable refresh tokens live (one process's dict, or the broker's Redis)."""

    async def put(self, token: str, username: str, ttl: float) -> None: ...

    async def take(self, token: str) -> str | None:
        """The token's user, if it is still usable; either way it is not any more."""
        ...


class LocalRefreshTokens:
    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (username, expires_at)

    async def put(self, token: str, username: str, ttl: float) -> None:
        self._tokens[token] = (username, time.time() + ttl)

    async def take(self, token: str) -> str | None:
        entry = self._tokens.pop(token, None)  # single use, valid or not
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]


class TokenService:
    """Issues token pairs; remembers which refresh tokens are still usable."""

    def __init__(self, access_ttl: float = DEFAULT_TTL,
                 refresh_tokens: RefreshTokens | None = None) -> None:
        # whole seconds stay ints so ``expires_in`` reads 900, not 900.0
        self.access_ttl = int(access_ttl) if float(access_ttl).is_integer() else access_ttl
        self._refresh: RefreshTokens = refresh_tokens or LocalRefreshTokens()

    def access_token(self, username: str) -> str:
        now = time.time()
        claims = {
            "sub": USERS[username],
            "username": username,
            "type": "access",
            "iat": int(now),
            # Not int(now) + ttl: truncating would cut up to a second off a 1 s token.
            "exp": now + self.access_ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, _SECRET, algorithm=ALGORITHM)

    async def issue(self, username: str) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(32)
        await self._refresh.put(refresh, username, REFRESH_TTL)
        return {
            "access_token": self.access_token(username),
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.access_ttl,
        }

    async def rotate(self, refresh_token: str) -> dict[str, Any] | None:
        username = await self._refresh.take(refresh_token)
        return None if username is None else await self.issue(username)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _bad(request: Request, status: int, message: str) -> JSONResponse:
    badinput.report_scope(request.scope, message)
    return _error(status, message)


async def _json_fields(request: Request, *names: str) -> dict[str, str] | JSONResponse:
    try:
        body = await httpjson.read_json(request, MAX_BODY)
    except httpjson.BodyError as exc:
        return _bad(request, exc.status, str(exc))
    if not isinstance(body, dict):
        return _bad(request, 400, "body must be a JSON object")
    missing = [n for n in names if not isinstance(body.get(n), str)]
    if missing:
        return _bad(request, 400, f"missing string field(s): {', '.join(missing)}")
    return {n: body[n] for n in names}


def password_ok(given: str) -> bool:
    """Constant-time check. ``compare_digest`` takes ``str`` only when it is ASCII, and a
    JSON string may hold any code point (a lone surrogate too), so compare UTF-8 bytes."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), PASSWORD.encode())


def routes(server: Server) -> list[Route]:
    store = None
    if server.broker is not None:
        from servers.broker.tokens import RedisRefreshTokens

        store = RedisRefreshTokens(server.broker)
    service = TokenService(server.settings.token_ttl, store)

    async def login(request: Request) -> JSONResponse:
        fields = await _json_fields(request, "username", "password")
        if isinstance(fields, JSONResponse):
            return fields
        if fields["username"] not in USERS or not password_ok(fields["password"]):
            return _error(401, "wrong username or password")
        return JSONResponse(await service.issue(fields["username"]))

    async def refresh(request: Request) -> JSONResponse:
        fields = await _json_fields(request, "refresh_token")
        if isinstance(fields, JSONResponse):
            return fields
        pair = await service.rotate(fields["refresh_token"])
        if pair is None:
            return _error(401, "refresh token unknown, used or expired")
        return JSONResponse(pair)

    async def me(request: Request) -> JSONResponse:
        """Who a bearer token belongs to: lets any client check a token over HTTP."""
        try:
            claims = bearer_claims(request.headers.get("authorization"))
        except AuthError as exc:
            return _error(401, str(exc))
        return JSONResponse({"id": claims["sub"], "username": claims["username"]})

    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/me", me, methods=["GET"]),
    ]
