"""Fixtures that run the real demo server process (``python -m servers``) for client tests.

- ``lab_server``: a fresh server for one test, stopped afterwards. Break it freely
  (kill, freeze, chaos). It is a :class:`rtlab.lab.ServerProcess`: ``.url``,
  ``.ws_url("/ws/echo")``, ``.chaos.drop()``, ``.kill()``, ``.restart()``, ...
- ``launch_server``: a factory for servers with options, e.g.
  ``launch_server(token_ttl=1, max_frame=1024)``; each one is stopped afterwards.
- ``shared_server``: one server for the whole session, for tests that do not break it.
  Tests that use chaos on it must undo it (``shared_server.chaos.reset()``).
- ``redis_server``: a private ``redis-server`` (Debian's, real) on a free loopback port, its
  files in a temp dir, stopped afterwards (:class:`servers.broker.redisproc.RedisProcess`).
- ``workers``: ``python -m servers --workers 2 --broker <that redis>`` for one test.
- ``serve_asgi``: a factory that runs a server that is *not ours* (any ASGI app: a bare
  python-socketio ``AsyncServer``, a strawberry schema, a Starlette route) with uvicorn on
  a free loopback port in the test's own loop (:func:`rtlab.teaching.foreign.serve_app`);
  ``await serve_asgi(app)`` answers its base URL (``http://127.0.0.1:PORT``); each one is
  stopped afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from rtlab.lab import ServerProcess
from rtlab.teaching.foreign import serve_app
from servers.broker.redisproc import RedisNotAvailable, RedisProcess


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


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    try:
        redis = RedisProcess.start()
    except RedisNotAvailable as exc:  # tools/setup-system test installs it: say so, loudly
        pytest.fail(str(exc))
    yield redis
    redis.stop()


@pytest.fixture
def workers(launch_server: Callable[..., ServerProcess],
            redis_server: RedisProcess) -> ServerProcess:
    return launch_server(extra_args=("--workers", "2", "--broker", redis_server.url))


@pytest.fixture
async def serve_asgi() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    async with contextlib.AsyncExitStack() as running:

        async def serve(app: Any) -> str:
            return await running.enter_async_context(serve_app(app))

        yield serve
