"""ReconnectingWebSocket against servers that are not ours: a raw ``websockets`` server run in
the test (binary frames, plain text, typed envelopes, a 404 for unknown paths, a 429 that
passes) and the mistakes a student makes (an ``http://`` URL, a refused port, a wrong path on
our own server), each answered instead of retried in silence."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from rtlab.backoff import Constant
from rtlab.envelope import Envelope
from rtlab.errors import ConnectionFailed, ConnectTimeout
from rtlab.state import ATTEMPT, ERROR, FRAME_IN, FRAME_OUT, ConnectionState
from rtlab.ws import ReconnectingWebSocket

S = ConnectionState
FAST = Constant(0.05)


async def _echo(ws: ServerConnection) -> None:
    """Echo every message in kind: a binary frame as binary, text as text."""
    async for message in ws:
        await ws.send(message)


async def _plain(ws: ServerConnection) -> None:
    """What a server that knows nothing of JSON says: plain text, then an envelope, then
    bytes that are not UTF-8."""
    await ws.send("hello, plain text")
    await ws.send(json.dumps({"type": "news", "payload": {"n": 1}, "id": "e1"}))
    await ws.send(b"\x00\xff binary")
    await ws.send("[1, 2")  # broken JSON: still text
    await ws.wait_closed()


def _only_at(path: str):
    """``process_request``: 404 for every path but ``path`` (as most servers answer)."""

    def check(_ws: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != path:
            return Response(404, "Not Found", Headers({"Content-Length": "9"}), b"Not Found")
        return None

    return check


@asynccontextmanager
async def foreign(handler, **options) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, **options) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def client(url: str, **options) -> ReconnectingWebSocket:
    options.setdefault("policy", FAST)
    options.setdefault("heartbeat_interval", None)
    return ReconnectingWebSocket(url, **options)


# -- frames: binary both ways, text that is not JSON --------------------------------------------
async def test_bytes_go_out_as_binary_frames_and_come_back_as_bytes() -> None:
    async with foreign(_echo) as url, client(url) as c:
        await c.send(b"\x00\x01\x02 raw")
        await c.send({"type": "json", "id": "j"})
        await c.send("plain words")
        got = [await asyncio.wait_for(c.recv(), 5) for _ in range(3)]
    assert got == [b"\x00\x01\x02 raw", {"type": "json", "id": "j"}, "plain words"]
    assert [e.data for e in c.timeline.of_kind(FRAME_OUT)][0] == b"\x00\x01\x02 raw"
    assert not c.timeline.of_kind(ERROR)


async def test_text_that_is_not_json_is_a_message_not_an_error() -> None:
    async with foreign(_plain) as url, client(url) as c:
        got = [await asyncio.wait_for(c.recv(), 5) for _ in range(4)]
    assert got == ["hello, plain text", {"type": "news", "payload": {"n": 1}, "id": "e1"},
                   b"\x00\xff binary", "[1, 2"]
    assert not c.timeline.of_kind(ERROR)
    assert len(c.timeline.of_kind(FRAME_IN)) == 4


async def test_decode_text_never_parses() -> None:
    async with foreign(_plain) as url, client(url, decode="text") as c:
        got = [await asyncio.wait_for(c.recv(), 5) for _ in range(2)]
    assert got == ["hello, plain text", json.dumps({"type": "news", "payload": {"n": 1},
                                                     "id": "e1"})]


async def test_decode_envelope_delivers_envelopes_and_records_what_is_not_one() -> None:
    async with foreign(_plain) as url, client(url, decode="envelope") as c:
        first = await asyncio.wait_for(c.recv(), 5)
        second = await asyncio.wait_for(c.recv(), 5)
        refused = [e.detail for e in c.timeline.of_kind(ERROR)]
    assert isinstance(first, Envelope) and (first.type, first.payload, first.id) == (
        "news", {"n": 1}, "e1")
    assert second == b"\x00\xff binary"  # binary frames are data, not envelopes
    assert refused and "not an envelope" in refused[0] and "not JSON" in refused[0]


# -- mistakes that no retry fixes: stop at once, say why ------------------------------------------
async def test_a_wrong_path_stops_at_once_with_the_404() -> None:
    async with foreign(_echo, process_request=_only_at("/ticker")) as url:
        c = client(f"{url}/tickr")
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            await c.connect(timeout=5)
        assert time.monotonic() - started < 2
    assert caught.value.status == 404
    assert "HTTP 404" in str(caught.value) and "check the URL's path" in str(caught.value)
    assert c.state is S.ERROR and not c.timeline.of_kind(ATTEMPT)  # never retried
    await c.close()


async def test_an_http_url_is_not_a_websocket_url() -> None:
    c = client("http://127.0.0.1:9/ws/echo")
    with pytest.raises(ConnectionFailed, match=r"not a WebSocket URL: 'http://.*ws://"):
        await c.connect(timeout=5)
    assert c.state is S.ERROR and not c.timeline.of_kind(ATTEMPT)
    await c.close()


@pytest.mark.parametrize("status", [HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE])
async def test_429_and_5xx_are_worth_a_retry(status: HTTPStatus) -> None:
    answered: list[int] = []

    def busy_once(_ws: ServerConnection, _request: Request) -> Response | None:
        if answered:
            return None
        answered.append(status)
        return Response(status, status.phrase, Headers({"Content-Length": "0"}), b"")

    async with foreign(_echo, process_request=busy_once) as url, client(url) as c:
        await c.send("after the retry")
        assert await asyncio.wait_for(c.recv(), 5) == "after the retry"
    assert answered == [status]
    refused = [e for e in c.timeline.of_kind(ERROR) if e.data == status]
    assert refused and f"HTTP {int(status)}" in refused[0].detail
    assert len(c.timeline.of_kind(ATTEMPT)) == 1


async def test_a_refused_port_is_retried_and_the_timeout_names_it() -> None:
    with socket.socket() as sock:  # a port nobody listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        c = client(f"ws://127.0.0.1:{port}/ws/echo")
        with pytest.raises(ConnectTimeout) as caught:
            await c.connect(timeout=0.5)
    message = str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert f"connection refused: nothing is listening on 127.0.0.1:{port}" in message
    assert "is the server running?" in message and "keeps trying" in message
    assert isinstance(caught.value.last_error, ConnectionRefusedError)
    assert c.state in (S.RECONNECTING, S.CONNECTING)  # a restarting server refuses too
    await c.close()


async def test_a_wrong_path_on_our_server_stops_too(shared_server) -> None:
    c = client(shared_server.ws_url("/ws/tickr"))
    with pytest.raises(ConnectionFailed) as caught:
        await c.connect(timeout=5)
    assert caught.value.status in (403, 404)  # 404 once the server says so
    assert "not retrying" in str(caught.value) and not c.timeline.of_kind(ATTEMPT)
    await c.close()


# -- knobs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("knob", [
    {"heartbeat_interval": 0}, {"heartbeat_interval": -1}, {"heartbeat_interval": float("nan")},
    {"heartbeat_timeout": 0}, {"connect_timeout": -5}, {"close_timeout": 0},
    {"decode": "xml"}, {"queue_size": 0}, {"queue_size": 2.5}, {"inbox_size": -1},
    {"heartbeat_timeout": "5"}, {"max_attempts": -1}, {"max_attempts": 1.5},
])
def test_every_knob_is_checked(knob: dict) -> None:
    name = next(iter(knob))
    with pytest.raises(ValueError, match=name):
        ReconnectingWebSocket("ws://127.0.0.1:9/", **knob)


async def test_connect_refuses_a_negative_timeout() -> None:
    c = client("ws://127.0.0.1:9/")
    with pytest.raises(ValueError, match="timeout"):
        await c.connect(timeout=-1)
    await c.close()
