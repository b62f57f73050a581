"""Message order and integrity through ReconnectingWebSocket's fast path.

The demo server never fragments, so these use a websockets server in the test
process (still real sockets) that sends fragmented, binary and invalid frames. A binary
frame stays ``bytes``, even when its bytes happen to be JSON.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import ServerConnection, serve

from rtlab.backoff import Constant
from rtlab.state import NOTE, ConnectionState
from rtlab.ws import ReconnectingWebSocket


async def _scripted(ws: ServerConnection) -> None:
    await ws.send(["[", '"frag', 'mented"', "]"])  # one message in four frames
    await ws.send(json.dumps("whole-1"))
    await ws.send(b'"binary"')
    await ws.send(("{", '"k": "fragmented-2"', "}"))
    for n in range(50):
        await ws.send(json.dumps(n))
    await ws.wait_closed()


async def test_fragmented_and_whole_messages_keep_their_order() -> None:
    async with serve(_scripted, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with ReconnectingWebSocket(
            f"ws://127.0.0.1:{port}", heartbeat_interval=None
        ) as c:
            got = [await asyncio.wait_for(c.recv(), 5) for _ in range(54)]
    assert got[:4] == [["fragmented"], "whole-1", b'"binary"', {"k": "fragmented-2"}]
    assert got[4:] == list(range(50))


async def _invalid_utf8(ws: ServerConnection) -> None:
    # A text frame whose bytes are not UTF-8: websockets must fail the link (1007).
    ws.protocol.send_text(b"\xff\xfe")
    ws.send_data()
    await ws.wait_closed()


async def test_invalid_utf8_fails_the_link_with_1007_not_a_crash() -> None:
    async with serve(_invalid_utf8, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        c = ReconnectingWebSocket(
            f"ws://127.0.0.1:{port}", heartbeat_interval=None, policy=Constant(5)
        )
        await c.connect(timeout=5)
        await c.wait_for(ConnectionState.RECONNECTING, timeout=5)
        await c.close()
    assert any("1007" in e.detail for e in c.timeline.of_kind(NOTE))
