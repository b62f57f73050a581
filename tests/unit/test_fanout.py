"""The pieces of the fan-out fast paths that need no socket: frames, the writer-idle rule, the
per-pass batch, the SSE pump's decisions. The wiring is in tests/integration/test_fanout.py
and test_ssepump.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import h11
import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from servers import fanout, ssepump, wslink


def parse_frame(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


def test_a_frame_is_one_unmasked_final_uncompressed_text_frame() -> None:
    for text in ("42/chat,[\"m\",{}]", "4" + "é" * 200, "4" + "x" * 70_000):
        frame = parse_frame(fanout.frame(text))
        assert frame.opcode is Opcode.TEXT and frame.fin and not frame.rsv1
        assert frame.data.decode() == text


def test_the_fast_path_sits_under_a_pubsub_manager() -> None:
    assert fanout.fast(socketio.AsyncManager) is fanout.FanoutManager
    mro = fanout.fast(socketio.AsyncRedisManager).__mro__
    order = [socketio.AsyncRedisManager, AsyncPubSubManager, fanout.FanoutManager,
             socketio.AsyncManager]
    assert [mro.index(c) for c in order] == sorted(mro.index(c) for c in order)


async def passes(n: int) -> None:
    """Let the loop run ``n`` passes (not a wait for time: each is one scheduling step)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_session_is_idle_only_while_its_writer_waits_with_nothing_in_hand() -> None:
    queue = wslink.WriterQueue()
    sock = SimpleNamespace(queue=queue, upgraded=True, upgrading=False, closing=False)
    taken: list[str] = []
    written = asyncio.Event()

    async def writer() -> None:  # engineio's: wait_for(queue.get()), then send what it got
        while True:
            taken.append(await asyncio.wait_for(queue.get(), 10))
            await written.wait()
            written.clear()

    task = asyncio.get_running_loop().create_task(writer())
    try:
        await passes(3)
        assert wslink.idle(sock)
        queue.put_nowait("a")
        assert not wslink.idle(sock)  # queued, not taken yet
        await passes(3)
        assert taken == ["a"] and not wslink.idle(sock)  # taken, not written yet
        written.set()
        await passes(3)
        assert wslink.idle(sock)
        for flag, value in (("upgraded", False), ("upgrading", True), ("closing", True)):
            setattr(sock, flag, value)
            assert not wslink.idle(sock)
            setattr(sock, flag, not value)
        assert wslink.idle(sock)
    finally:
        task.cancel()


class FakeLink:
    def __init__(self, is_open: bool = True) -> None:
        self.is_open = is_open
        self.transport = SimpleNamespace(writes=[])
        self.transport.write = self.transport.writes.append

    def open(self) -> bool:
        return self.is_open


async def test_a_batch_writes_once_per_connection_per_pass_in_order() -> None:
    batch = fanout.Batch()
    a, b, gone = FakeLink(), FakeLink(), FakeLink(is_open=False)
    batch.add(a, b"1")
    batch.add(b, b"x")
    batch.add(a, b"2")
    batch.add(gone, b"?")
    assert a.transport.writes == []  # nothing before the next pass
    await passes(1)
    assert a.transport.writes == [b"12"] and b.transport.writes == [b"x"]
    assert gone.transport.writes == []
    batch.add(a, b"3")
    await passes(1)
    assert a.transport.writes == [b"12", b"3"]


def test_a_chunk_is_what_an_http11_client_reads_as_body_data() -> None:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + ssepump.chunk(b"id: 1\r\ndata: {}\r\n\r\n") + ssepump.chunk(b"x" * 300))
    events = []
    while (event := client.next_event()) is not h11.NEED_DATA:
        events.append(event)
    body = b"".join(bytes(e.data) for e in events if isinstance(e, h11.Data))
    assert body == b"id: 1\r\ndata: {}\r\n\r\n" + b"x" * 300


class FakeFeed:
    """Events 1..latest as b"<n>;", all in the buffer from ``oldest``."""

    def __init__(self, latest: int, oldest: int = 1) -> None:
        self.latest = latest
        self.oldest = oldest

    def advance(self, now: float) -> None:
        pass

    def read(self, cursor: int, now: float, limit: int) -> tuple[bytes, int]:
        last = min(self.latest, cursor + limit)
        return b"".join(b"%d;" % n for n in range(cursor + 1, last + 1)), last


def reader(cursor: int, **state: bool) -> ssepump.Reader:
    cycle = SimpleNamespace(response_started=True, response_complete=False, disconnected=False,
                            flow=SimpleNamespace(write_paused=state.get("paused", False)))
    transport = SimpleNamespace(writes=[], frozen=state.get("frozen", False),
                                is_closing=lambda: state.get("closing", False))
    transport.write = transport.writes.append
    return ssepump.Reader(transport, cycle, cursor)


async def test_the_pump_writes_to_readers_that_can_take_it_and_wakes_the_others() -> None:
    pump = ssepump.Pump(FakeFeed(latest=10, oldest=3))
    ready, also, caught_up = reader(9), reader(8), reader(10)
    paused, frozen = reader(9, paused=True), reader(9, frozen=True)
    closing = reader(9, closing=True)
    too_old, too_far = reader(1), reader(10 - ssepump.MAX_CATCH_UP - 1)
    everyone = [ready, also, caught_up, paused, frozen, closing, too_old, too_far]
    for r in everyone:
        pump.readers.add(r)
    assert pump.deliver(now=0.0) == 2
    assert ready.transport.writes == [ssepump.chunk(b"10;")]
    assert also.transport.writes == [ssepump.chunk(b"9;10;")]
    assert ready.cursor == also.cursor == 10
    assert pump.readers == {ready, also, caught_up}  # still parked
    assert not caught_up.woken.done() and caught_up.transport.writes == []
    for r in (paused, frozen, closing, too_old, too_far):
        assert r.woken.done() and r.transport.writes == [] and r.cursor != 10


async def test_only_a_chunked_get_stream_served_by_our_protocol_can_park() -> None:
    def scope(method: str = "GET", version: bytes = b"1.1", link: bool = True) -> dict:
        cycle = SimpleNamespace(conn=SimpleNamespace(their_http_version=version))
        # the cycle by reference, as servers.transport puts it (a weak one there)
        ext = {"rtlab.transport": {"transport": object(), "cycle": lambda: cycle}} if link else {}
        return {"method": method, "extensions": ext}

    assert ssepump.Reader.of(scope(), 5) is not None
    assert ssepump.Reader.of(scope(method="HEAD"), 5) is None
    assert ssepump.Reader.of(scope(version=b"1.0"), 5) is None
    assert ssepump.Reader.of(scope(link=False), 5) is None


def test_a_session_whose_websocket_is_closing_gets_nothing_queued() -> None:
    """A class leaving together: every leave notice was queued in every closing session's
    engineio queue (half a million packets a round of 1,000, never sent, sizing the heap)."""
    manager = fanout.FanoutManager()
    sockets = {}
    for name, is_open in (("open", True), ("closing", False)):
        link = FakeLink(is_open)
        link.deflate = False
        link.writable = lambda: False  # (paused) so an open one takes engineio's queue
        sockets[name] = SimpleNamespace(queue=asyncio.Queue(), closed=False, closing=False,
                                        last_ping=None, upgraded=True, upgrading=False)
        setattr(sockets[name], wslink.ATTRIBUTE, link)
    manager.server = SimpleNamespace(eio=SimpleNamespace(sockets=sockets, ping_timeout=5))
    late, stalled = manager._deliver([("s1", "open"), ("s2", "closing")], [None], "pkt",
                                     b"frame", True)
    assert (late, stalled) == ([], [])
    assert sockets["open"].queue.qsize() == 1
    assert sockets["closing"].queue.qsize() == 0
    assert manager.stats["closing"] == 1 and manager.stats["queued"] == 1
