"""The capacity benchmark's lean long-polling listener (:mod:`benchmarks.loadgen.sio` over
:mod:`benchmarks.loadgen.http1`) against servers that are not ours, on real sockets.

The benchmark's polling numbers are only as good as this client: it must speak Engine.IO
long-polling to python-socketio itself, keep its connections alive (one per request would
measure connection set-up, and with workers send each pong through the master), and follow a
worker's ``307`` on a new connection as a browser does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.loadgen import sio
from benchmarks.loadgen.broadcaster import Broadcaster
from benchmarks.loadgen.raw_server import make_app
from benchmarks.loadgen.samples import Recorder


class Counting(Recorder):
    """A recorder that can be awaited until it holds ``n`` deliveries."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def record(self, k: int, origin: float, now: float) -> None:
        super().record(k, origin, now)
        self.changed.set()

    async def reached(self, n: int) -> None:
        while len(self.items) < n:
            self.changed.clear()
            await self.changed.wait()


async def test_it_joins_a_bare_python_socketio_room_and_hears_every_broadcast(
        serve_asgi: Callable[[Any], Awaitable[str]]) -> None:
    url = await serve_asgi(make_app())
    recorder = Counting()
    recorder.reset(0.0)
    client = await asyncio.wait_for(sio.open_polling(url, "/chat", "class", recorder), 10)
    speaker = await Broadcaster.join(url, "class")
    try:
        sent = await speaker.run(1.5, 4.0)
        await asyncio.wait_for(recorder.reached(len(sent)), 10)
    finally:
        await speaker.leave()
        await client.close()
    assert sorted(k for k, _origin, _latency in recorder.items) == sent
    assert len(client.idle) + len(client.busy) <= 2  # polls and posts on kept-alive connections


async def test_a_307_is_followed_on_a_new_connection(
        serve_asgi: Callable[[Any], Awaitable[str]]) -> None:
    """What a worker answers to a request that reached it on another session's connection."""
    peers: list[tuple[bytes, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        peers.append((scope["query_string"], scope["client"]))
        if scope["query_string"] == b"hop=1":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await send({"type": "http.response.start", "status": 307,
                    "headers": [(b"location", b"/x?hop=1"), (b"connection", b"close"),
                                (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    client = sio.SioPolling(await serve_asgi(app), "/chat", "class", Recorder())
    answer = await asyncio.wait_for(client._exchange("GET", "/x"), 10)
    again = await asyncio.wait_for(client._exchange("GET", "/x?hop=1"), 10)
    assert (answer.status, answer.body, again.body) == (200, b"ok", b"ok")
    [first, hop, kept] = [client for _query, client in peers]
    assert first != hop  # the redirected request went on a new connection
    assert hop == kept  # which then stayed alive for the next one
    for link in client.idle:
        link.close()
