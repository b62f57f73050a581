"""Lean Socket.IO listeners for the load generator: a WebSocket one and a long-polling one.

python-socketio's client costs a few tasks and an aiohttp session per connection; a
generator process holding a thousand of them would be the bottleneck it is meant to measure.
Here one WebSocket connection is an ``asyncio.Protocol`` around websockets' sans-I/O
``ClientProtocol`` (no task, no compression offered), and one polling client is one task
looping ``GET`` over h11 (:mod:`benchmarks.loadgen.http1`, not httpx: see there why). Both
drive :class:`SioSession`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from benchmarks.loadgen import http1
from benchmarks.loadgen.samples import Recorder
from benchmarks.loadgen.session import Refused, SioSession

SEPARATOR = "\x1e"  # Engine.IO 4 packet separator in a polling payload


def _session(namespace: str, room: str, recorder: Recorder) -> SioSession:
    def arrived(k: int, origin: float) -> None:
        recorder.record(k, origin, time.time())

    return SioSession(namespace, room, arrived)


class SioWebSocket(asyncio.Protocol):
    """One Socket.IO client on the WebSocket transport; ``joined`` resolves once in the room."""

    def __init__(self, url: str, namespace: str, room: str, recorder: Recorder) -> None:
        self.conn = ClientProtocol(parse_uri(url), max_size=None)
        self.session = _session(namespace, room, recorder)
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.send_request(self.conn.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        for event in self.conn.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    for reply in self.session.feed(event.data.decode()):
                        if self.conn.state is State.OPEN:  # not once the server closes
                            self.conn.send_text(reply.encode())
            elif isinstance(event, Response) and event.status_code != 101:
                self._fail(f"handshake answered {event.status_code}")
        if self.session.refused:
            self._fail(self.session.refused)
        elif self.session.joined and not self.joined.done():
            self.joined.set_result(None)
        self._flush()

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for chunk in self.conn.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def _fail(self, why: str) -> None:
        if not self.joined.done():
            self.joined.set_exception(Refused(why))
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(Refused(f"connection lost: {exc}"))

    def close(self) -> None:
        """Leave as a browser tab does: a close frame, then the socket."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.conn.state is State.OPEN:
            self.conn.send_close(1000)
            self._flush()
        self.transport.close()


async def open_websocket(url: str, namespace: str, room: str,
                         recorder: Recorder) -> SioWebSocket:
    """Connect, open the session, join ``room``; raises :class:`Refused` if any step fails."""
    parts = urlsplit(url)
    ws_url = f"ws://{parts.netloc}/socket.io/?EIO=4&transport=websocket"
    loop = asyncio.get_running_loop()
    _transport, client = await loop.create_connection(
        lambda: SioWebSocket(ws_url, namespace, room, recorder), parts.hostname, parts.port)
    await client.joined
    return client


class SioPolling:
    """One Socket.IO client on long-polling: a task that keeps one ``GET`` open at a time.

    Its own kept-alive connections, as a browser tab's: a request goes on an idle one (the
    pong after a poll goes on the poll's connection, as a browser's pool does), or a new one.
    Not one pool for all clients: with worker processes the master routes a connection by its
    first request, so a connection reused for another session reaches the wrong worker. A
    ``307`` (a worker's answer to such a request) is followed on a new connection, as a
    browser does."""

    def __init__(self, url: str, namespace: str, room: str, recorder: Recorder) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base = "/socket.io/?EIO=4&transport=polling"
        self.session = _session(namespace, room, recorder)
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.sid: str | None = None
        self.idle: list[http1.Http1Connection] = []  # kept alive, no request on them
        self.busy: set[http1.Http1Connection] = set()

    async def _exchange(self, method: str, target: str, body: bytes = b"") -> http1.Answer:
        answer = await self._send(method, target, body)
        location = answer.header(b"location")
        if answer.status == 307 and location is not None:
            answer = await self._send(method, location.decode("latin-1"), body)
        return answer

    async def _send(self, method: str, target: str, body: bytes) -> http1.Answer:
        while self.idle:
            link = self.idle.pop()
            if link.reusable:
                try:
                    return await self._on(link, method, target, body)
                except http1.Closed:
                    break  # the server closed it idle as we sent: once more, on a new one
        return await self._on(await http1.connect(self.host, self.port), method, target, body)

    async def _on(self, link: http1.Http1Connection, method: str, target: str,
                  body: bytes) -> http1.Answer:
        self.busy.add(link)
        try:
            answer = await link.request(method, target, body)
        finally:
            self.busy.discard(link)
        if link.reusable:
            self.idle.append(link)
        return answer

    async def _post(self, packets: list[str]) -> None:
        if packets:
            answer = await self._exchange("POST", f"{self.base}&sid={self.sid}",
                                          SEPARATOR.join(packets).encode())
            if answer.status != 200:
                raise Refused(f"POST answered {answer.status}")

    async def run(self) -> None:
        try:
            first = await self._exchange("GET", self.base)
            if first.status != 200:
                raise Refused(f"handshake answered {first.status}")
            body = first.body.decode()
            self.sid = _open_sid(body)
            await self._post(self.session.feed(body))
            poll = f"{self.base}&sid={self.sid}"
            while True:
                answer = await self._exchange("GET", poll)
                if answer.status != 200:
                    raise Refused(f"poll answered {answer.status}")
                replies: list[str] = []
                for packet in answer.body.decode().split(SEPARATOR):
                    replies += self.session.feed(packet)
                if self.session.refused:
                    raise Refused(self.session.refused)
                if self.session.joined and not self.joined.done():
                    self.joined.set_result(None)
                await self._post(replies)
        except Exception as exc:  # noqa: BLE001 - any failure ends this client, says why
            if not self.joined.done():
                self.joined.set_exception(exc if isinstance(exc, Refused) else Refused(repr(exc)))
        finally:
            for link in [*self.idle, *self.busy]:
                link.close()

    async def close(self) -> None:
        if self.sid is not None and self.task is not None and not self.task.done():
            with contextlib.suppress(Exception):  # leaving anyway
                await self._post(["1"])  # Engine.IO close: the server forgets the session now
        if self.task is not None:
            self.task.cancel()


def _open_sid(body: str) -> str:
    if not body.startswith("0"):
        raise Refused(f"no Engine.IO open packet: {body[:80]!r}")
    return str(json.loads(body[1:].split(SEPARATOR)[0])["sid"])


async def open_polling(url: str, namespace: str, room: str, recorder: Recorder) -> SioPolling:
    client = SioPolling(url, namespace, room, recorder)
    client.task = asyncio.get_running_loop().create_task(client.run())
    await client.joined
    return client
