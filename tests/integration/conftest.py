"""Fixtures that run the real demo server process (``python -m servers``) for client tests.

- ``lab_server``: a fresh server for one test, stopped afterwards. Break it freely
  (kill, freeze, chaos). It is a :class:`rtlab.lab.ServerProcess`: ``.url``,
  ``.ws_url("/ws/echo")``, ``.chaos.drop()``, ``.kill()``, ``.restart()``, ...
- ``launch_server``: a factory for servers with options, e.g.
  ``launch_server(token_ttl=1, max_frame=1024)``; each one is stopped afterwards.
- ``shared_server``: one server for the whole session, for tests that do not break it.
  Tests that use chaos on it must undo it (``shared_server.chaos.reset()``).
- ``serve_asgi``: a factory that runs a server that is *not ours* (any ASGI app: a bare
  python-socketio ``AsyncServer``, a strawberry schema, a Starlette route) with uvicorn on
  a free loopback port in the test's own loop; ``await serve_asgi(app)`` answers its base
  URL (``http://127.0.0.1:PORT``); each one is stopped afterwards.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn

from rtlab.lab import ServerProcess


@pytest.fixture
def launch_server() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def launch(**options: Any) -> ServerProcess:
        server = ServerProcess.launch(**options)
        started.append(server)
        return server

    yield launch
    for server in started:
        server.stop()


@pytest.fixture
def lab_server(launch_server: Callable[..., ServerProcess]) -> ServerProcess:
    return launch_server()


@pytest.fixture(scope="session")
def shared_server() -> Iterator[ServerProcess]:
    server = ServerProcess.launch()
    yield server
    server.stop()


class _Uvicorn(uvicorn.Server):
    """uvicorn's server with an event for "listening" (it offers only a flag)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@pytest.fixture
async def serve_asgi() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    running: list[tuple[_Uvicorn, asyncio.Task[None]]] = []

    async def serve(app: Any) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = _Uvicorn(uvicorn.Config(app, log_level="warning", lifespan="off",
                                         timeout_graceful_shutdown=0.25))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        running.append((server, task))
        ready = asyncio.ensure_future(server.ready.wait())
        await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        assert server.ready.is_set(), "the foreign server did not start"
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield serve
    for server, _task in running:
        server.should_exit = True
    await asyncio.wait_for(asyncio.gather(*(task for _server, task in running)), 10)
