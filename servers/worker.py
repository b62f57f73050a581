"""One worker of ``python -m servers --workers N``: uvicorn serving sockets the master hands it.

The worker listens on nothing. The master accepts each connection, picks a worker
(:mod:`servers.handoff`) and passes the socket over this worker's channel; the worker runs
uvicorn's own protocol on it (``loop.connect_accepted_socket`` with the protocol class
uvicorn would build for a listening socket: our chaos classes, so freeze, latency and drop
work as in one process). Once uvicorn has started, the worker says :data:`handoff.READY`
on the channel; when the channel closes (the master is gone) it shuts down.

:class:`WorkerTag` marks every answer with ``x-rtlab-worker: N`` (tests and the capacity
benchmark see where a connection landed) and redirects a Socket.IO request that reached the
wrong worker: the master routes a connection by its *first* request, and a client that
shares one kept-alive connection between two sessions (a browser's pool does) can send a
later request for another worker's session on it. That request gets a 307 to the same URL
with ``Connection: close``, so the client repeats it on a new connection, which the master
routes by its session id. A repeated request carries ``rtlab_hop=1`` and is never
redirected again (a session whose worker died is then refused as Engine.IO refuses any
unknown session).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from servers import broker, handoff, protocols
from servers.app import Settings
from servers.uvserver import build

HEADER = b"x-rtlab-worker"
HOP = "rtlab_hop=1"

_connecting: set[asyncio.Task[Any]] = set()


class WorkerTag:
    """ASGI layer: ``x-rtlab-worker`` on every answer, and the misrouted-session redirect."""

    def __init__(self, app: Any, index: int, workers: int) -> None:
        self.app = app
        self.index = index
        self.workers = workers
        self.value = str(index).encode()
        self.prefix = protocols.prefix("socketio").encode()

    def _misrouted(self, scope: dict[str, Any]) -> bool:
        query: bytes = scope.get("query_string", b"")
        if HOP.encode() in query:
            return False
        target = scope.get("raw_path") or scope["path"].encode()
        owner = handoff.target_owner(target + b"?" + query, self.workers, self.prefix)
        return owner is not None and owner != self.index

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self._misrouted(scope):
            await self._redirect(scope, receive, send)
            return

        async def tagged(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.accept",
                        "websocket.http.response.start"):
                message = {**message,
                           "headers": [*message.get("headers", []), (HEADER, self.value)]}
            await send(message)

        await self.app(scope, receive, tagged)

    async def _redirect(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"{scope['path']}?{query}&{HOP}".encode("latin-1")
        headers = [(b"location", location), (b"connection", b"close"),
                   (b"content-length", b"0"), (HEADER, self.value)]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 307,
                        "headers": headers})
            await send({"type": "websocket.http.response.body", "body": b""})
        else:
            await send({"type": "websocket.close", "code": 1013})


def _serve_socket(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run uvicorn's protocol on one accepted socket, as its listening server would."""
    loop = asyncio.get_running_loop()
    config = server.config

    def protocol() -> asyncio.Protocol:
        return config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=server.server_state,
            app_state=server.lifespan.state, _loop=loop)

    sock.setblocking(False)
    task = loop.create_task(loop.connect_accepted_socket(protocol, sock))
    _connecting.add(task)  # a task nobody holds can be collected before it runs
    task.add_done_callback(_connecting.discard)


async def serve(settings: Settings, channel: socket.socket) -> None:
    """Serve what the master hands over until SIGTERM or until the master goes away."""
    index = settings.worker or 0
    server = build(settings, lambda app: WorkerTag(app, index, settings.workers))
    task = asyncio.create_task(server.serve(sockets=[]))
    while not server.started:
        if task.done():
            await task
            raise SystemExit(1)
        await asyncio.sleep(0.005)
    await broker.start_all()
    loop = asyncio.get_running_loop()
    channel.setblocking(False)

    def on_message() -> None:
        try:
            socks, data = handoff.receive_sockets(channel)
        except BlockingIOError:
            return
        except OSError:
            socks, data = [], b""
        if not socks and not data:  # the master is gone: so are we
            loop.remove_reader(channel.fileno())
            server.should_exit = True
            return
        for sock in socks:
            _serve_socket(server, sock)

    loop.add_reader(channel.fileno(), on_message)
    channel.send(handoff.READY)
    try:
        await task
    finally:
        loop.remove_reader(channel.fileno())
