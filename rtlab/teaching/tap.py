"""A loopback TCP relay that counts the bytes each way (notebook 08's overhead per message).

Every transport is counted at the same place, whatever library speaks it: the client
connects to the tap, the tap connects to the server and copies bytes both ways, counting
them. HTTP request lines and headers, WebSocket handshakes and frame headers, Engine.IO
long-polls, keep-alives and pings are all in the numbers, as they crossed the socket.

    async with ByteTap(server.port) as tap:
        client = ReconnectingWebSocket(tap.ws_url("/ws/echo"))
        ...
        tap.down   # bytes the server sent to the client through the tap

:meth:`ByteTap.freeze` makes it a half-open link on demand, for any server (one that is not
ours has no ``/_chaos``): the relayed connections stop carrying bytes either way without
closing; connections opened afterwards are not frozen; :meth:`ByteTap.thaw` lets the held
bytes through.

Nothing here knows a protocol; it never changes a byte. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self
from urllib.parse import urlsplit

from rtlab.process import HOST, LoopbackAddresses

CHUNK = 64 * 1024


class ByteTap(LoopbackAddresses):
    """Relay ``HOST:listen port`` to ``HOST:upstream_port``; count ``up`` and ``down`` bytes.

    ``up`` is client to server, ``down`` server to client, ``connections`` the TCP
    connections the clients opened through it. Use it as an async context manager (or
    :meth:`start` and :meth:`close`); closing cuts every relayed connection.
    """

    def __init__(self, upstream_port: int, upstream_host: str = HOST, query: str = "") -> None:
        self.upstream_port = upstream_port
        self.upstream_host = upstream_host
        self.query = query  # a classroom's join token and client id: on every URL it builds
        self.port = 0
        self.up = 0
        self.down = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._gates: set[asyncio.Event] = set()  # one per relayed connection: set = flowing
        self.frozen = 0  # connections frozen by the last freeze()
        self._hold_new = False  # freeze(new=True): connections opened until thaw() start frozen

    @classmethod
    def in_front_of(cls, url: str) -> ByteTap:
        """A tap (not started yet) for the server at ``url`` (``http://HOST:PORT``, with the
        query of a classroom handle's URL, which the tap's URLs keep)."""
        parts = urlsplit(url)
        if parts.port is None:
            raise ValueError(f"no port in {url!r}")
        return cls(parts.port, parts.hostname or HOST, parts.query)

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._relay, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def counts(self) -> tuple[int, int, int]:
        """``(up, down, connections)`` now: subtract two of these to count one exchange."""
        return self.up, self.down, self.connections

    def freeze(self, *, new: bool = False) -> int:
        """Hold every relayed connection open but carry nothing, either way (a half-open
        link); returns how many. Connections opened later are not frozen, unless ``new``
        (nothing at all crosses until :meth:`thaw`: a quiet point to count at)."""
        self._hold_new = new
        for gate in self._gates:
            gate.clear()
        self.frozen = len(self._gates)
        return self.frozen

    def thaw(self) -> None:
        """Let the frozen connections carry bytes again (what they held goes first)."""
        self._hold_new = False
        for gate in self._gates:
            gate.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pumps):
            task.cancel()
        for task in list(self._pumps):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _relay(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(self.upstream_host,
                                                              self.upstream_port)
        except OSError:
            client_w.close()  # the server is down: the client sees its connection reset
            return
        gate = asyncio.Event()
        if not self._hold_new:
            gate.set()
        self._gates.add(gate)
        pumps = [asyncio.ensure_future(self._pump(client_r, server_w, gate, up=True)),
                 asyncio.ensure_future(self._pump(server_r, client_w, gate, up=False))]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._gates.discard(gate)
            for task in pumps:
                task.cancel()
                self._pumps.discard(task)
            for writer in (client_w, server_w):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    gate: asyncio.Event, *, up: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(CHUNK):
                await gate.wait()  # frozen: hold it (and read no more) until thawed
                if up:
                    self.up += len(chunk)
                else:
                    self.down += len(chunk)
                writer.write(chunk)
                await writer.drain()
