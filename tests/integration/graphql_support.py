"""Small helpers shared by the GraphQL server tests: log in, post raw GraphQL, speak the two
WebSocket subprotocols by hand (for exact close codes), and load sibling modules (pytest runs
with ``--import-mode=importlib``, so test directories are not on ``sys.path``)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx  # noqa: F401  (re-exported for the tests)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


def load_sibling(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def login(server: Any, username: str = "alice") -> str:
    r = httpx.post(server.http_url("/auth/login"),
                   json={"username": username, "password": "password"}, timeout=5)
    r.raise_for_status()
    return r.json()["access_token"]


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def post(server: Any, query: str | None = None, variables: dict[str, Any] | None = None,
               token: str | None = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"query": query, **extra}
    if variables is not None:
        body["variables"] = variables
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.post(server.http_url("/graphql"), json=body, headers=bearer(token))


SEND = """mutation Send($room: ID!, $text: String!) {
  sendMessage(chatRoomId: $room, content: $text) { id content chatRoomId }
}"""


async def send_message(server: Any, token: str, room: str, text: str) -> dict[str, Any]:
    r = await post(server, SEND, {"room": room, "text": text}, token)
    body = r.json()
    assert "errors" not in body, body
    return body["data"]["sendMessage"]


@asynccontextmanager
async def ws_session(server: Any, subprotocol: str = TRANSPORT_WS,
                     payload: dict[str, Any] | None = None,
                     ack: bool = True) -> AsyncIterator[ClientConnection]:
    """A raw WebSocket on /graphql, after ``connection_init`` (and its ack, if ``ack``)."""
    async with connect(server.ws_url("/graphql"), subprotocols=[subprotocol],
                       close_timeout=1) as ws:
        assert ws.subprotocol == subprotocol
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        if ack:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply["type"] == "connection_ack", reply
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, query: str,
                    variables: dict[str, Any] | None = None) -> None:
    kind = "subscribe" if ws.subprotocol == TRANSPORT_WS else "start"
    await ws.send(json.dumps({"id": op_id, "type": kind,
                              "payload": {"query": query, "variables": variables or {}}}))


async def next_data(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next result frame (``next`` or legacy ``data``), skipping keep-alives."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] in ("next", "data"):
            return frame
        assert frame["type"] in ("ka", "ping", "pong"), frame


async def close_code(ws: ClientConnection, timeout: float = 5) -> tuple[int | None, str]:
    """Wait until the server closes; (code, reason)."""
    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):  # raised for any code but 1000/1001
            async for _frame in ws:
                pass
    await asyncio.wait_for(drain(), timeout)
    return ws.close_code, ws.close_reason or ""
