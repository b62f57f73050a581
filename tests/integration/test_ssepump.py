"""The SSE fan-out pump (:mod:`servers.ssepump`) against real streams on real sockets.

The server runs in the test's loop (:mod:`inprocess`) so a test can find a stream's server
side; ``/sse/stats`` tells how many readers are parked on a feed's pump and how many chunks
it wrote. Readers: httpx (chunked HTTP/1.1, as every SSE client) and raw sockets where the
test needs HTTP/1.0 or a reader that stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from rtlab.sse import EventStreamParser
from tests.integration.inprocess import Running, demo_server

PATH = "/sse/news?interval=0.05&ping=0"


async def feed_stats(run: Running, interval: float) -> dict:
    async with httpx.AsyncClient(trust_env=False) as http:
        stats = (await http.get(f"{run.url}/sse/stats")).json()
    [feed] = [f for f in stats["feeds"] if f["path"] == "/sse/news" and f["interval"] == interval]
    return feed


@contextlib.asynccontextmanager
async def stream(run: Running, path: str = PATH, **headers: str) -> AsyncIterator:
    """An async iterator of parsed events of one stream (httpx, HTTP/1.1)."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        async with http.stream("GET", f"{run.url}{path}", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"

            async def events():
                parser = EventStreamParser()
                async for chunk in response.aiter_raw():
                    for event in parser.feed(chunk):
                        yield event

            yield events()


async def news(events: AsyncIterator, n: int) -> list:
    out = []
    async for event in events:
        if event.type == "news":
            out.append(event)
            if len(out) == n:
                return out
    raise AssertionError(f"the stream ended after {len(out)} news events")


def ids(events: list) -> list[int]:
    return [int(e.id) for e in events]


def without_time(event) -> tuple:
    data = event.json()
    data.pop("timestamp")
    return event.type, event.id, data


async def read_parked(run: Running, n: int) -> tuple[list[list], dict]:
    """Three readers, ``n`` events each, and the feed's stats while all three are parked."""
    async with stream(run) as a, stream(run) as b, stream(run) as c:
        got = [await news(s, 5) for s in (a, b, c)]
        parked = await feed_stats(run, 0.05)
        got = [first + await news(s, n - 5) for first, s in zip(got, (a, b, c), strict=True)]
    return got, parked


async def test_parked_readers_get_every_event_once_in_order_as_the_generator_path_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with demo_server() as run:
        fast, parked = await read_parked(run, 20)
        pumped = (await feed_stats(run, 0.05))["pumped"]
    monkeypatch.setenv("RTLAB_FAST_FANOUT", "0")
    async with demo_server() as run:
        slow, unparked = await read_parked(run, 20)
    assert parked["parked"] == 3 and pumped >= 3 * 10
    assert unparked["parked"] == 0
    for events in fast + slow:
        first = ids(events)[0]
        assert ids(events) == list(range(first, first + 20))
    # the same events (a feed is deterministic apart from when it started)
    base = {e.id: without_time(e) for e in slow[0]}
    both = [e for e in fast[0] if e.id in base]
    assert both and all(without_time(e) == base[e.id] for e in both)


async def test_a_resuming_reader_replays_then_parks_without_a_gap() -> None:
    async with demo_server() as run:
        async with stream(run) as live:
            first = await news(live, 12)
            resume_from = first[2].id
            async with stream(run, **{"Last-Event-ID": resume_from}) as resumed:
                replay = await news(resumed, 20)
                assert (await feed_stats(run, 0.05))["parked"] == 2
    assert ids(replay) == list(range(int(resume_from) + 1, int(resume_from) + 21))


async def raw_get(run: Running, path: str, version: str = "1.1",
                  rcvbuf: int | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    host, port = run.url[7:].split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
    writer.write(f"GET {path} HTTP/{version}\r\nHost: {host}\r\n\r\n".encode())
    return reader, writer


async def test_an_http10_stream_is_close_delimited_and_never_parked() -> None:
    async with demo_server() as run:
        reader, writer = await raw_get(run, PATH, version="1.0")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"chunked" not in head.lower()
        parser, events = EventStreamParser(), []
        while len([e for e in events if e.type == "news"]) < 10:
            events += parser.feed(await asyncio.wait_for(reader.read(4096), 5))
        assert (await feed_stats(run, 0.05))["parked"] == 0
        writer.close()
    got = [e for e in events if e.type == "news"]
    assert ids(got) == list(range(ids(got)[0], ids(got)[0] + len(got)))
    assert all(json.loads(e.data)["id"] == int(e.id) for e in got)


async def test_a_reader_that_stops_reading_is_woken_not_written_to() -> None:
    fast_path = "/sse/news?interval=0.002&ping=0"
    async with demo_server() as run:
        slow_reader, slow_writer = await raw_get(run, fast_path, rcvbuf=4096)
        await slow_reader.readuntil(b"\r\n\r\n")
        slow_writer.transport.pause_reading()  # stops reading: the kernel buffers fill
        [server_side] = run.server_side("/sse/news")
        server_side.transport.set_write_buffer_limits(high=2048)
        server_side.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # and a small kernel buffer
        async with stream(run, fast_path) as healthy:
            for _ in range(200):  # a bounded wait for flow control to pause the slow one
                if server_side.flow.write_paused:
                    break
                await news(healthy, 5)
            assert server_side.flow.write_paused
            got = await news(healthy, 100)  # the healthy one keeps going, parked
            stats = await feed_stats(run, 0.002)
            held = server_side.transport.get_write_buffer_size()
        assert ids(got) == list(range(ids(got)[0], ids(got)[0] + 100))
        assert stats["parked"] == 1  # only the healthy reader: the slow one was woken
        assert held < 2048 + 64 * 1024  # the high-water mark, plus one sse-starlette write
        slow_writer.transport.resume_reading()
        parser, events = EventStreamParser(), []
        while len([e for e in events if e.type == "news"]) < 50:
            events += parser.feed(await asyncio.wait_for(slow_reader.read(65536), 5))
        slow_writer.close()
    # what it gets is in order: a gap only where the server said so with a reset
    last = None
    for event in events:
        if event.type == "reset":
            last = None
        elif event.type == "news":
            assert last is None or int(event.id) == last + 1
            last = int(event.id)
