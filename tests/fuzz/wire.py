"""How one fuzz input is sent, and what came back, judged only by what a client can see.

:class:`Outcome` records the HTTP statuses (requests and WebSocket handshakes), the close
codes the server sent, and whether a connection ended with no answer at all: a request with
no response, a WebSocket that lost its TCP connection without a close frame (the client sees
1006), or one that never answered our own close frame. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

HOST = "127.0.0.1"
ANSWER_TIMEOUT = 5.0  # a server that says nothing for this long has hung
# A stream (a ticker at 1,000/s) may have megabytes queued ahead of the server's close frame
# in the socket buffers; a busy client needs a while to read through them.
CLOSE_TIMEOUT = 10.0


@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    dropped: str | None = None  # why a connection ended without an answer or a close frame
    received: int = 0  # messages/bodies received (for the record; never judged)

    @property
    def server_error(self) -> bool:
        return any(s >= 500 for s in self.statuses)

    @property
    def internal_close(self) -> bool:
        return 1011 in self.closes

    def drop(self, why: str) -> None:
        if self.dropped is None:
            self.dropped = why


@dataclass(frozen=True)
class Target:
    port: int

    def http(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def ws(self, path: str) -> str:
        return f"ws://{HOST}:{self.port}{path}"


async def request(client: httpx.AsyncClient, outcome: Outcome, method: str, url: str,
                  **kwargs: Any) -> httpx.Response | None:
    """One HTTP request; its status is recorded, no answer is a drop."""
    try:
        response = await client.request(method, url, timeout=ANSWER_TIMEOUT, **kwargs)
    except httpx.TimeoutException:
        outcome.drop(f"no HTTP answer within {ANSWER_TIMEOUT} s")
        return None
    except httpx.TransportError as exc:
        outcome.drop(f"connection ended without an HTTP answer ({type(exc).__name__}: {exc})")
        return None
    outcome.statuses.append(response.status_code)
    outcome.received += 1
    return response


Frames = Iterable[str | bytes]
Setup = Callable[[ClientConnection], Awaitable[None]]


async def ws_session(url: str, frames: Frames, outcome: Outcome, *,
                     headers: dict[str, str] | None = None,
                     subprotocols: list[str] | None = None, setup: Setup | None = None,
                     idle: float = 0.1, budget: float = 1.0) -> list[str | bytes]:
    """Open a WebSocket, run ``setup``, send ``frames``, read until ``idle`` seconds pass with
    nothing new, ``budget`` seconds pass in all (a ticker never goes quiet) or the server
    closes; then close. Everything the server sent is returned."""
    received: list[str | bytes] = []
    try:
        ws = await connect(url, additional_headers=headers, subprotocols=subprotocols,  # type: ignore[arg-type]
                           max_size=None, open_timeout=ANSWER_TIMEOUT,
                           close_timeout=CLOSE_TIMEOUT, ping_interval=None)
    except InvalidStatus as exc:
        outcome.statuses.append(exc.response.status_code)
        return received
    except (InvalidMessage, OSError, TimeoutError) as exc:
        outcome.drop(f"handshake got no answer ({type(exc).__name__}: {exc})")
        return received
    outcome.statuses.append(101)
    try:
        if setup is not None:
            await setup(ws)
        for frame in frames:
            await ws.send(frame)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while (left := deadline - loop.time()) > 0:
            message = await asyncio.wait_for(ws.recv(), min(idle, left))
            received.append(message)
            outcome.received += 1
    except TimeoutError:
        pass  # quiet for ``idle`` seconds: we close below
    except ConnectionClosed:
        pass
    await _close(ws, outcome)
    return received


async def _close(ws: ClientConnection, outcome: Outcome) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with contextlib.suppress(Exception):
        await ws.close()
    rcvd = ws.protocol.close_rcvd
    if rcvd is not None:
        outcome.closes.append(rcvd.code)
    elif loop.time() - started >= CLOSE_TIMEOUT:
        outcome.drop(f"no close frame in reply to ours within {CLOSE_TIMEOUT} s")
    else:
        outcome.drop("the WebSocket ended without a close frame from the server (1006)")


async def recv_until(ws: ClientConnection, want: Callable[[Any], bool],
                     timeout: float = ANSWER_TIMEOUT) -> Any:
    """The first message for which ``want`` is true (raises TimeoutError/ConnectionClosed)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.recv()
            if want(message):
                return message


async def raw_exchange(data: bytes, port: int, outcome: Outcome, *,
                       expect_answer: bool = True, half_close: bool = False) -> bytes:
    """Bytes over a bare TCP connection; the status line of the answer is recorded. A
    complete request that gets no answer before the server closes (or within the timeout) is
    a drop; an incomplete one may get none."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port),
                                                ANSWER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        outcome.drop(f"cannot connect ({exc})")
        return b""
    answer = b""
    try:
        writer.write(data)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        wait = ANSWER_TIMEOUT if expect_answer else 0.3
        with contextlib.suppress(TimeoutError):
            answer = await asyncio.wait_for(reader.read(65536), wait)
    except (ConnectionError, OSError) as exc:
        if expect_answer:
            outcome.drop(f"connection reset ({exc})")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if answer.startswith(b"HTTP/1."):
        parts = answer.split(b" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            outcome.statuses.append(int(parts[1]))
            outcome.received += 1
    elif expect_answer:
        outcome.drop(f"no HTTP answer to a complete request (got {answer[:40]!r})")
    return answer
