"""Servers that are not ours: strawberry's own GraphQL view, python-socketio's own server.

A client that works only against the demo server is a bug, so notebooks and tests also
talk to these (:func:`socketio_echo_app` is a bare python-socketio server). The GraphQL one
is a ``books(first)`` schema served by ``strawberry.asgi.GraphQL`` as it
comes, under uvicorn on a free loopback port, in the caller's event loop. It knows no
persisted queries (a request without ``query`` is refused with HTTP 400) and no batches
(a JSON array is refused with 400), as most servers.

    async with foreign_server() as url:
        ...  # POST {"query": BOOKS, "variables": {"n": 2}} to url
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import socketio
import strawberry
import uvicorn
from strawberry.asgi import GraphQL


@strawberry.type
class Book:
    title: str
    year: int


@strawberry.type
class BookQuery:
    @strawberry.field
    def books(self, first: int = 2) -> list[Book]:
        return [Book(title=f"Book {i}", year=2000 + i) for i in range(first)]


BOOKS = "query Books($n: Int!) { books(first: $n) { title year } }"


def socketio_echo_app(ping_interval: float = 1.0, ping_timeout: float = 1.0) -> Any:
    """python-socketio's own ASGI app, nothing of ours: ``echo`` acks what it got. The
    Engine.IO heartbeat is the server's to choose (``pingInterval``, ``pingTimeout`` in its
    handshake): a short one here, so a frozen link is noticed within seconds."""
    sio = socketio.AsyncServer(async_mode="asgi", ping_interval=ping_interval,
                               ping_timeout=ping_timeout)

    async def echo(_sid: str, data: Any = None) -> Any:
        return data

    sio.on("echo", echo)
    return socketio.ASGIApp(sio)


@contextlib.asynccontextmanager
async def foreign_server(host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve the books schema until the block ends; yields its ``/graphql`` URL."""
    async with serve_app(GraphQL(strawberry.Schema(BookQuery)), host) as base:
        yield f"{base}/graphql"


@contextlib.asynccontextmanager
async def serve_app(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve any ASGI ``app`` (a bare python-socketio server, a strawberry view, a Starlette
    route: servers that are not ours) until the block ends; yields ``http://host:port``.

    The socket listens before uvicorn starts, so the first request waits in the backlog
    instead of being refused: nothing to poll for. Open long-polls and streams get a
    quarter of a second to end when the block does.
    """
    sock = socket.socket()
    sock.bind((host, 0))
    sock.listen(128)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=0.25)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 5)
        finally:
            sock.close()
