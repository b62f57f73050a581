"""Who is calling: the join token (student) or instructor token, and the client id.

Every request and WebSocket handshake carries the token as ``?join=TOKEN`` (every client
library keeps a URL's query string: websockets, httpx, gql, aiohttp, and python-engineio on
every polling request and on the upgrade, see ``engineio.base_client._get_engineio_url``) or
as the header ``X-Rtlab-Join`` (for clients that can set headers). The client id is
``?client=ID`` or ``X-Rtlab-Client``; a client that sends none counts as ``ip-<address>``.

Both parameters are removed from the query string before the app sees it, so the servers'
own parameter checks never meet them and they are never echoed back.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

from servers.transport import CLIENT_KEY, ROLE_KEY

JOIN = "join"
CLIENT = "client"
JOIN_HEADER = b"x-rtlab-join"
CLIENT_HEADER = b"x-rtlab-client"
STUDENT = "student"
INSTRUCTOR = "instructor"
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True)
class Member:
    role: str
    client: str

    @property
    def instructor(self) -> bool:
        return self.role == INSTRUCTOR


@dataclass(frozen=True)
class Unknown:
    """A caller without a usable token or id; ``code`` and ``message`` say which."""

    code: str
    message: str


def _split(query: bytes) -> tuple[dict[str, str], bytes]:
    """Our parameters, and the query string without them (every other byte kept as sent)."""
    ours: dict[str, str] = {}
    kept = []
    for pair in query.split(b"&") if query else ():
        name = urllib.parse.unquote_plus(pair.split(b"=", 1)[0].decode("latin-1"))
        if name in (JOIN, CLIENT):
            value = pair.split(b"=", 1)[1] if b"=" in pair else b""
            ours.setdefault(name, urllib.parse.unquote_plus(value.decode("latin-1")))
        else:
            kept.append(pair)
    return ours, b"&".join(kept)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def identify(scope: dict[str, Any], join_token: str, instructor_token: str) -> Member | Unknown:
    """The caller of ``scope``; strips our parameters from ``scope["query_string"]``."""
    ours, rest = _split(scope.get("query_string", b""))
    scope["query_string"] = rest
    token = ours.get(JOIN) or _header(scope, JOIN_HEADER)
    if not token:
        return Unknown("JOIN_TOKEN_MISSING", "classroom server: join token missing; add "
                       "?join=TOKEN from the instructor's join URL (or header X-Rtlab-Join)")
    if secrets.compare_digest(token.encode(), instructor_token.encode()):
        role = INSTRUCTOR
    elif secrets.compare_digest(token.encode(), join_token.encode()):
        role = STUDENT
    else:
        return Unknown("JOIN_TOKEN_WRONG", "classroom server: wrong join token; check the "
                       "join URL the instructor gave")
    client = ours.get(CLIENT) or _header(scope, CLIENT_HEADER)
    if client is None:
        peer = scope.get("client") or ("unknown", 0)
        client = f"ip-{peer[0]}"
    elif not CLIENT_ID.fullmatch(client):
        hint = " (a path added after the URL's query? use server.http_url(path))" if (
            "/" in client) else ""
        return Unknown("BAD_CLIENT_ID", "classroom server: a client id is 1-64 letters, digits, "
                       f"'.', '_', ':' or '-', not {client[:40]!r}{hint}")
    member = Member(role, client)
    scope[ROLE_KEY], scope[CLIENT_KEY] = member.role, member.client
    return member
