"""Lean Socket.IO listeners for the load generator: a WebSocket one and a long-polling one.

python-socketio's client costs a few tasks and an aiohttp session per connection; a
generator process holding a thousand of them would be the bottleneck it is meant to measure.
Here one WebSocket connection is an ``asyncio.Protocol`` around websockets' sans-I/O
``ClientProtocol`` (no task, no compression offered), and one polling connection is one task
looping ``GET`` on a shared ``httpx.AsyncClient``. Both drive :class:`SioSession`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

import httpx
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

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
    """One Socket.IO client on long-polling: a task that keeps one ``GET`` open at a time."""

    def __init__(self, http: httpx.AsyncClient, url: str, namespace: str, room: str,
                 recorder: Recorder) -> None:
        self.http = http
        self.base = f"{url.rstrip('/')}/socket.io/?EIO=4&transport=polling"
        self.session = _session(namespace, room, recorder)
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.sid: str | None = None

    async def _post(self, packets: list[str]) -> None:
        if packets:
            response = await self.http.post(f"{self.base}&sid={self.sid}",
                                            content=SEPARATOR.join(packets).encode())
            response.raise_for_status()

    async def run(self) -> None:
        try:
            first = await self.http.get(self.base)
            first.raise_for_status()
            body = first.text
            self.sid = _open_sid(body)
            await self._post(self.session.feed(body))
            while True:
                response = await self.http.get(f"{self.base}&sid={self.sid}")
                if response.status_code != 200:
                    raise Refused(f"poll answered {response.status_code}")
                replies: list[str] = []
                for packet in response.text.split(SEPARATOR):
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
            await self.http.aclose()

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
    client = SioPolling(polling_http(), url, namespace, room, recorder)
    client.task = asyncio.get_running_loop().create_task(client.run())
    await client.joined
    return client


def polling_http() -> httpx.AsyncClient:
    """One polling client's own connections (a GET and a POST at most), as a browser tab's.

    Not one pool for all: with worker processes the master routes a connection by its first
    request, so a kept-alive connection reused for another session reaches the wrong worker
    (which answers 307; followed here, as a browser does)."""
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=2),
                             timeout=httpx.Timeout(60.0), trust_env=False,
                             follow_redirects=True)
