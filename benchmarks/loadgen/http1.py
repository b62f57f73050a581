"""A lean HTTP/1.1 client connection for the load generator: h11's state machine in an
``asyncio.Protocol``, one request at a time, kept alive between them.

A long-polling listener is one ``GET`` after another. Through ``httpx.AsyncClient`` each
exchange costs about a millisecond of the generator's CPU (httpx's models, httpcore's pool,
anyio's cancel scopes, and an ``import sniffio`` that fails on every request where sniffio is
not installed); a class's polling clients are all answered in the same instant (one broadcast),
so one generator process took ~200 ms to read 200 answers, and the benchmark measured that
queue. Here an exchange is a few h11 events and a future: no task, no pool.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import h11


class Closed(ConnectionError):
    """The connection ended before the answer did."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


class Http1Connection(asyncio.Protocol):
    """One TCP connection to ``host``; :meth:`request` sends one request and waits for its
    whole answer. :attr:`reusable` is false once either side asked to close (then open
    another, as a browser does)."""

    def __init__(self, host: str) -> None:
        self.host = host.encode()
        self.conn = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[Answer] | None = None
        self._head: h11.Response | None = None
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def reusable(self) -> bool:
        return (self.transport is not None and not self.transport.is_closing()
                and self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE)

    async def request(self, method: str, target: str, body: bytes = b"") -> Answer:
        if not self.reusable:
            raise Closed("this connection cannot take another request")
        assert self.transport is not None
        headers = [(b"host", self.host)]
        if method != "GET":
            headers.append((b"content-length", b"%d" % len(body)))
        out = self.conn.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            out += self.conn.send(h11.Data(data=body))
        out += self.conn.send(h11.EndOfMessage())
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(out)
        try:
            return await self._answer
        finally:
            self._answer = None

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._events()

    def eof_received(self) -> bool | None:
        self.conn.receive_data(b"")
        self._events()
        return None

    def _events(self) -> None:
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._fail(Closed(f"bad answer: {exc}"))
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                self._head, self._body = event, []
            elif isinstance(event, h11.Data):
                self._body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done()
            elif isinstance(event, h11.ConnectionClosed):
                self._fail(Closed("the server closed the connection"))
                return

    def _done(self) -> None:
        head, body, self._head, self._body = self._head, b"".join(self._body), None, []
        assert head is not None
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()  # kept alive
        elif self.transport is not None:
            self.transport.close()  # "Connection: close" (a worker's 307 says so)
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(Answer(head.status_code, list(head.headers), body))

    def _fail(self, exc: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(Closed(f"connection lost: {exc}"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int) -> Http1Connection:
    _transport, conn = await asyncio.get_running_loop().create_connection(
        lambda: Http1Connection(f"{host}:{port}"), host, port)
    return conn
