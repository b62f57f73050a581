"""Notebook 08's measuring tools on real sockets: the byte tap counts what crosses (and can
freeze a link), and the side-by-side measurements say what the notebook says they say."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from rtlab import proxy
from rtlab.teaching import transports
from rtlab.teaching.tap import ByteTap


async def test_the_tap_counts_every_byte_of_a_frame_each_way(shared_server) -> None:
    async with ByteTap(shared_server.port) as tap:
        ws = await connect(tap.ws_url("/ws/echo"), compression=None, proxy=None)
        try:
            up, down, connections = tap.counts()
            text = '{"type":"note","id":"t","payload":"' + "x" * 60 + '"}'
            await ws.send(text)
            assert await asyncio.wait_for(ws.recv(), 5) == text  # counted before relayed
            # RFC 6455 5.2: a short client frame has 2 header bytes and a 4-byte mask, a
            # server frame 2 header bytes and no mask.
            assert (tap.up - up, tap.down - down) == (len(text) + 6, len(text) + 2)
            assert connections == tap.connections == 1
        finally:
            await ws.close()


async def test_a_frozen_tap_holds_the_bytes_and_new_connections_pass(shared_server) -> None:
    async with ByteTap(shared_server.port) as tap:
        held = await connect(tap.ws_url("/ws/echo"), proxy=None)
        try:
            assert tap.freeze() == 1
            await held.send('{"type":"note","id":"held"}')
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(held.recv(), 0.3)  # nothing crosses a frozen link
            fresh = await connect(tap.ws_url("/ws/echo"), proxy=None)
            await fresh.send('{"type":"note","id":"fresh"}')
            assert "fresh" in await asyncio.wait_for(fresh.recv(), 5)
            await fresh.close()
            tap.thaw()
            assert "held" in await asyncio.wait_for(held.recv(), 5)  # kept, not lost
        finally:
            await held.close()


async def test_push_bytes_tells_framing_compression_and_polling_apart(shared_server) -> None:
    blocking = await asyncio.to_thread(proxy.ProxyProcess.launch, shared_server.url)
    try:
        deflate, plain, sse, sio, polling = await asyncio.gather(
            transports.push_bytes("WebSocket", shared_server),
            transports.push_bytes("WebSocket", shared_server, compression=None, label="plain"),
            transports.push_bytes("SSE", shared_server),
            transports.push_bytes("Socket.IO", shared_server),
            transports.push_bytes("Socket.IO", blocking, label="polling"),
        )
    finally:
        blocking.stop()
    assert plain.transport == "plain"
    assert plain.overhead == pytest.approx(2, abs=0.5)  # a frame header, nothing else
    assert deflate.wire < deflate.app  # permessage-deflate packs a repetitive ticker
    assert 20 < sse.overhead < 60  # id:, event:, data: lines and the chunk around them
    assert 5 < sio.overhead < 20  # 42["tick", ... ] on a frame
    assert polling.wire > 5 * sio.wire and polling.up > 0  # headers of every poll, both ways


async def test_round_trips_and_rates_are_measured_for_each_transport(shared_server) -> None:
    for name in ("GraphQL", "WebSocket", "Socket.IO"):
        times = await transports.round_trips(name, shared_server, 5)
        assert len(times) == 5 and all(t > 0 for t in times), name
    for name in ("GraphQL", "WebSocket", "Socket.IO", "SSE"):
        assert await transports.per_second(name, shared_server, 50) > 0, name
    table = transports.speed_table({"WebSocket": [0.001, 0.002]}, {"SSE": 1000.0})
    assert "1.50 ms" in table and "1,000" in table


async def test_rates_past_the_servers_queue_keep_a_window_in_flight(shared_server) -> None:
    # Sent all at once, 2500 echoes pass the server's 1024-message queue for one peer
    # (dropped: the link is lost) and 2500 calls the client's 1000-message outbox.
    n = 2500
    for name in ("WebSocket", "Socket.IO"):
        assert await asyncio.wait_for(transports.per_second(name, shared_server, n), 30) > 0
