"""The Socket.IO fan-out fast path (:mod:`servers.fanout`) against real clients on real sockets.

The server runs in the test's loop (:mod:`inprocess`) so a test can switch the fast path,
read which path each recipient took (``manager.stats``) and find a connection's server side.
Clients: :class:`sio_wire.WireClient` (every frame, over websockets' client) and
python-socketio's own client for long-polling.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
import socketio

from servers import fanout
from tests.integration.inprocess import Running, demo_server
from tests.integration.sio_wire import WireClient, events, login, payload

DOC = {"documentId": "d"}


async def joined(run: Running, user: str, namespaces: tuple[str, ...] = ("/collab",),
                 **options) -> WireClient:
    token = await login(run.url, user)
    client = await WireClient.connect(run.url, dict.fromkeys(namespaces, token), **options)
    await client.call("/collab", "join", DOC)
    return client


def changes(client: WireClient) -> list[str]:
    return events(client.frames, "/collab", "doc_change")


def versions(client: WireClient) -> list[int]:
    return [payload(f)["version"] for f in changes(client)]


async def send_changes(sender: WireClient, n: int, size: int = 10) -> int:
    """``n`` doc_change emits, acks awaited together; the newest version the server gave."""
    acks = [sender.call_nowait("/collab", "doc_change", {**DOC, "operation": {"text": "x" * size}})
            for _ in range(n)]
    return max(ack["version"] for ack in await asyncio.wait_for(asyncio.gather(*acks), 30))


def server_protocol(run: Running, client: WireClient):
    """The server's uvicorn protocol object of ``client``'s connection."""
    port = client.ws.local_address[1]
    [proto] = [p for p in run.server_side("/socket.io") if p.client and p.client[1] == port]
    return proto


async def small_window_client(run: Running, user: str) -> WireClient:
    """A client whose kernel receive buffer is small, so a pause in reading backs up fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = run.url[7:].split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await joined(run, user, sock=sock)


async def back_up(run: Running, slow: WireClient, sender: WireClient) -> None:
    """Stop ``slow`` reading and send until its server side is paused by flow control."""
    slow.reading(False)
    proto = server_protocol(run, slow)
    proto.transport.set_write_buffer_limits(high=4096)
    for _ in range(200):
        if not proto.writable.is_set():
            return
        await send_changes(sender, 20, size=3000)
    raise AssertionError("the server never paused writing to a client that stopped reading")


async def run_scenario(fast: bool) -> tuple[list[str], list[str], dict[str, int]]:
    async with demo_server() as run:
        manager = run.socketio.sio.manager
        manager.fast_fanout = fast
        sender = await joined(run, "alice")
        reader = await joined(run, "bob", ("/", "/collab"))
        # the reader's acks go through engineio's queue; the broadcasts to it and the ticks
        # (an emit to it alone) past it, when its writer is idle
        await reader.call("/", "ticker", {"rate": 50})
        acks = [reader.call_nowait("/", "echo", {"n": i, "pad": "y" * 3000}) for i in range(40)]
        await send_changes(sender, 40)
        await asyncio.wait_for(asyncio.gather(*acks), 10)
        await reader.wait_for(lambda _f: len(changes(reader)) == 40)
        await reader.wait_for(lambda f: len(events(f, "/", "tick")) >= 10)
        await reader.call("/", "ticker", {"rate": 0})
        acked = sorted(f for f in reader.frames if f.startswith("43") and '"rate"' not in f)
        frames = changes(reader)
        assert versions(reader) == list(range(1, 41))
        ticks = [payload(f)["n"] for f in events(reader.frames, "/", "tick")]
        assert ticks == list(range(1, len(ticks) + 1))
        stats = dict(manager.stats)
        await reader.close()
        await sender.close()
    return frames, acked, stats


async def test_the_same_frames_in_the_same_order_with_or_without_the_fast_path() -> None:
    fast_frames, fast_acks, fast_stats = await run_scenario(fast=True)
    slow_frames, slow_acks, slow_stats = await run_scenario(fast=False)
    assert fast_frames == slow_frames  # byte for byte: same packet, same encoding
    assert fast_acks == slow_acks and len(fast_acks) == 41  # the join's ack and 40 echoes
    assert fast_stats["written"] >= 1
    assert slow_stats["written"] == 0


async def test_a_socket_paused_by_flow_control_gets_the_queue_and_keeps_the_order() -> None:
    async with demo_server() as run:
        stats = run.socketio.sio.manager.stats
        sender = await joined(run, "alice")
        slow = await small_window_client(run, "bob")
        await back_up(run, slow, sender)
        queued = stats["queued"]
        await send_changes(sender, 10)
        assert stats["queued"] - queued == 10  # paused: none of these may pass the backlog
        slow.reading(True)
        for _ in range(30):  # more while the backlog drains (a few KiB at a time)
            total = await send_changes(sender, 1, size=3000)
        await slow.wait_for(lambda _f: len(changes(slow)) == total, timeout=30)
        assert versions(slow) == list(range(1, total + 1))
        written = stats["written"]
        await send_changes(sender, 5)  # drained: the fast path again
        await slow.wait_for(lambda _f: len(changes(slow)) == total + 5)
        assert versions(slow)[-5:] == list(range(total + 1, total + 6))
        assert stats["written"] - written == 5
        await slow.close()
        await sender.close()


async def test_long_polling_clients_get_the_same_broadcasts_through_engineio() -> None:
    async with demo_server() as run:
        stats = run.socketio.sio.manager.stats
        sender = await joined(run, "alice")
        websocket = await joined(run, "carol")
        polling = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        got: list[int] = []
        all_in = asyncio.Event()

        def arrived(data: dict) -> None:
            got.append(data["version"])
            if len(got) == 12:
                all_in.set()

        polling.on("doc_change", arrived, namespace="/collab")
        await polling.connect(run.url, transports=["polling"], namespaces=["/collab"],
                              auth={"token": await login(run.url, "bob")})
        try:
            await polling.call("join", DOC, namespace="/collab", timeout=10)
            before = dict(stats)
            await send_changes(sender, 12)
            await websocket.wait_for(lambda _f: len(changes(websocket)) == 12)
            await asyncio.wait_for(all_in.wait(), 10)
            assert got == list(range(1, 13))
            assert versions(websocket) == list(range(1, 13))
            assert stats["queued"] - before["queued"] >= 12  # the polling client's share
            assert stats["written"] - before["written"] >= 12  # the websocket client's share
        finally:
            await polling.eio.disconnect(abort=True)
            await websocket.close()
            await sender.close()


async def test_a_compressed_connection_gets_small_frames_plain_and_large_ones_compressed() -> None:
    big = fanout.COMPRESS_ABOVE * 3
    async with demo_server() as run:
        stats = run.socketio.sio.manager.stats
        sender = await joined(run, "alice")
        reader = await joined(run, "bob", compression="deflate")
        assert server_protocol(run, reader).conn.extensions  # permessage-deflate is on
        before = dict(stats)
        for _ in range(5):  # uncompressed and compressed messages alternate on one context
            await send_changes(sender, 1, size=10)
            await send_changes(sender, 1, size=big)
        await reader.wait_for(lambda _f: len(changes(reader)) == 10)
        assert versions(reader) == list(range(1, 11))
        sizes = [len(payload(f)["operation"]["text"]) for f in changes(reader)]
        assert sizes == [10, big] * 5
        assert stats["written"] - before["written"] == 5
        assert stats["queued"] - before["queued"] == 5
        await reader.close()
        await sender.close()


async def test_a_reader_that_stops_reading_is_evicted_and_the_others_keep_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "MAX_BACKLOG", 30)
    async with demo_server() as run:
        stats = run.socketio.sio.manager.stats
        sender = await joined(run, "alice")
        healthy = await joined(run, "carol")
        slow = await small_window_client(run, "bob")
        await back_up(run, slow, sender)
        sent = await send_changes(sender, 40)  # past the backlog limit: bob is cut off
        assert stats["evicted"] == 1
        await healthy.wait_for(lambda _f: len(changes(healthy)) == sent)
        assert versions(healthy) == list(range(1, sent + 1))
        await healthy.wait_for(lambda f: bool(events(f, "/collab", "user_left")))
        assert payload(events(healthy.frames, "/collab", "user_left")[0])["user"] == "bob"
        assert len(run.socketio.sio.eio.sockets) == 2  # bob's session is gone
        await healthy.close()
        await sender.close()
        await slow.close()
