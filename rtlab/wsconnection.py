"""One WebSocket connection's plumbing, shared by :mod:`rtlab.ws` and :mod:`rtlab.graphql.ws`.

Both clients run on the ``websockets`` library's asyncio client and need the same four
things around one connection:

* :class:`TappedConnection`: complete messages handed to a callback the moment they are
  parsed, one event-loop turn sooner than through ``recv()`` (the hot path);
* :func:`open_connection`: one opening handshake (RFC 6455 §4.1) with rtlab's defaults
  (the library's own keepalive off, because :func:`heartbeat` states its bound; no proxy
  from the environment; a short close), its failure recorded on the timeline;
* :func:`heartbeat`: a ping every ``interval`` seconds, and no pong within ``timeout``
  aborts the link, so a half-open link is noticed within ``interval + timeout``;
* :func:`read_messages`: every message to one callback, through the tap when it can;
* :func:`run_session` and :func:`close_socket`: a session's tasks run until the first ends
  (a surprise in any is recorded, never swallowed), and a close handshake bounded by
  ``close_timeout``, then an abort.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import Frame, Opcode

from rtlab.reconnect import Happened, status_outcome
from rtlab.sources import resolve
from rtlab.state import ERROR, NOTE, Timeline

CLOSE_TIMEOUT = 1.0  # seconds for the closing handshake before the TCP link is aborted


class TappedConnection(ClientConnection):
    """A connection that hands complete messages to ``tap`` as soon as they are parsed.

    Without it every message would travel websockets' assembler, then a reader task,
    then ``recv()``: one more event-loop turn per message than a plain ``websockets``
    client, about 10% of a loopback round trip. Only unfragmented text/binary frames
    arriving while the assembler holds nothing are tapped, so order is kept; fragmented
    messages, invalid UTF-8 and everything before the handshake take the library's
    normal path.
    """

    tap: Callable[[str | bytes], None] | None = None

    def process_event(self, event: object) -> None:
        tap = self.tap
        if tap is not None and type(event) is Frame and event.fin:
            opcode = event.opcode
            if (opcode is _TEXT or opcode is _BINARY) and not self.recv_messages.frames:
                data = event.data
                if type(data) is not bytes:
                    data = bytes(data)
                if opcode is _BINARY:
                    tap(data)
                    return
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    pass  # let websockets fail the connection with 1007
                else:
                    tap(text)
                    return
        super().process_event(event)  # type: ignore[arg-type]


_TEXT, _BINARY = Opcode.TEXT, Opcode.BINARY


class OpenFailed(NamedTuple):
    """Why a handshake failed: the exception, in words, the HTTP status if the server
    answered one, and whether a retry could help (``fatal``: it cannot)."""

    error: BaseException
    detail: str
    status: int | None = None
    fatal: bool = False


#: What a refusal most often means, for the statuses a student meets.
_STATUS_HINTS = {
    400: "the server did not accept this WebSocket request",
    401: "the endpoint wants credentials",
    403: "forbidden: credentials refused, a path the server does not serve, or a proxy "
         "that blocks WebSocket upgrades",
    404: "no WebSocket endpoint at this path: check the URL's path",
    426: "the server wants another protocol version",
}


def describe_failure(exc: BaseException, url: str, connect_timeout: float) -> OpenFailed:
    """Sort a failed opening handshake into retry or stop, with a message that names the
    cause: a bad URL or a 4xx answer (other than 408/429) will not change by asking again;
    a refused port, a timeout, a 5xx or a link lost mid-handshake may."""
    if isinstance(exc, InvalidURI):
        return OpenFailed(exc, f"not a WebSocket URL: {exc.uri!r}: {exc.msg} (a WebSocket "
                          "URL looks like ws://host:port/path or wss://...)", None, True)
    if isinstance(exc, InvalidStatus):
        response = exc.response
        status = response.status_code
        words = f"HTTP {status} {response.reason_phrase}".rstrip()
        hint = _STATUS_HINTS.get(status) or (
            "an HTTP endpoint, not a WebSocket one" if status < 400 else "")
        fatal = status_outcome(status) is Happened.FATAL
        tail = "; not retrying" if fatal else ""
        return OpenFailed(exc, f"handshake refused: {words}" + (f" ({hint})" if hint else "")
                          + tail, status, fatal)
    if isinstance(exc, InvalidMessage):  # the link went away mid-handshake: worth a retry
        return OpenFailed(exc, f"handshake failed: {exc}")
    if isinstance(exc, InvalidHandshake):  # a server that does not speak WebSocket properly
        return OpenFailed(exc, f"handshake failed: {exc}; not retrying", None, True)
    if isinstance(exc, ConnectionRefusedError):
        where = urlsplit(url).netloc or url
        return OpenFailed(exc, f"connection refused: nothing is listening on {where} "
                          "(is the server running?)")
    if isinstance(exc, TimeoutError):
        return OpenFailed(exc, f"no handshake within connect_timeout={connect_timeout:g}s")
    if isinstance(exc, socket.gaierror):
        host = urlsplit(url).hostname or url
        return OpenFailed(exc, f"cannot resolve host {host!r}: {exc.strerror or exc}")
    return OpenFailed(exc, f"connect failed: {exc!r}")


async def open_connection(url: str, timeline: Timeline, *, connect_timeout: float,
                          headers: Any = None,
                          subprotocols: list[str] | None = None,
                          **options: Any) -> TappedConnection | OpenFailed:
    """One opening handshake: the connection, or why it failed (recorded as an ``error``).

    ``headers`` may be a mapping or a (sync or async) function returning one, read now;
    ``connect_timeout`` bounds the TCP connect and the HTTP upgrade (websockets'
    ``open_timeout``); ``options`` go to :func:`websockets.asyncio.client.connect`.
    """
    try:
        return await connect(
            url,
            additional_headers=await resolve(headers),
            subprotocols=subprotocols,  # type: ignore[arg-type]
            open_timeout=connect_timeout,
            ping_interval=None,  # rtlab's heartbeat, with a stated bound, replaces it
            create_connection=TappedConnection,
            **{"proxy": None, "close_timeout": CLOSE_TIMEOUT, **options},
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is swallowed
        failed = describe_failure(exc, url, connect_timeout)
    timeline.record(ERROR, data=failed.status, detail=failed.detail)
    return failed


async def read_messages(ws: TappedConnection, handle: Callable[[str | bytes], None]) -> None:
    """Hand every message to ``handle`` until the link closes: most through the tap, the
    rest (fragmented ones) through the library's own iterator, in order."""
    ws.tap = handle
    try:
        async for raw in ws:
            handle(raw)
    except ConnectionClosed:
        pass
    finally:
        ws.tap = None


async def heartbeat(ws: ClientConnection, interval: float, timeout: float, timeline: Timeline,
                    on_dead: Callable[[TimeoutError], None],
                    ping: Callable[[], Awaitable[Awaitable[Any]]] | None = None) -> None:
    """Every ``interval`` s send a ping; no pong within ``timeout`` s: the link is dead.

    ``ping`` sends one and returns what to await for its pong (default: a WebSocket ping
    frame, RFC 6455 §5.5.2, which the peer's library answers; a protocol may bring its
    own). On a missing pong ``on_dead`` gets the verdict, a ``note`` says so, and the
    transport is aborted. Returns when the link closes.
    """
    send_ping = ping or ws.ping

    async def ping_pong() -> None:
        await (await send_ping())

    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.wait_for(ping_pong(), timeout)
        except TimeoutError:
            dead = TimeoutError(f"no pong within {timeout}s: link presumed dead")
            on_dead(dead)
            timeline.record(NOTE, detail=str(dead))
            ws.transport.abort()
            return
        except ConnectionClosed:
            return


async def run_session(timeline: Timeline,
                      *jobs: Coroutine[Any, Any, Any]) -> BaseException | None:
    """Run a session's jobs (reader, sender, heartbeat) until the first ends, then cancel
    the rest. Returns the first unexpected failure of any job (recorded as an ``error``),
    or None: a closed connection is how sessions end, not a surprise."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    surprise = None
    for outcome in outcomes:
        if isinstance(outcome, Exception) and not isinstance(outcome, ConnectionClosed):
            timeline.record(ERROR, detail=f"session task failed: {outcome!r}")
            surprise = surprise or outcome
    return surprise


async def close_socket(ws: ClientConnection, timeout: float = CLOSE_TIMEOUT) -> None:
    """The closing handshake, at most ``timeout`` seconds; then the TCP link is aborted."""
    try:
        await asyncio.wait_for(ws.close(), timeout)
    except (Exception, asyncio.CancelledError):  # noqa: BLE001
        ws.transport.abort()


__all__ = ["CLOSE_TIMEOUT", "OpenFailed", "TappedConnection", "close_socket", "describe_failure",
           "heartbeat", "open_connection", "read_messages", "run_session"]
