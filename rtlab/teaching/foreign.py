"""A GraphQL server that is not ours: strawberry's own ASGI view, another schema, no extras.

A client that works only against the demo server is a bug, so notebooks and tests also
talk to this one: a ``books(first)`` schema served by ``strawberry.asgi.GraphQL`` as it
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
