"""Plain HTTP on the demo server: keep-alive requests are not held back by Nagle + delayed ACK."""

from __future__ import annotations

import statistics
import time

import httpx


def test_keep_alive_requests_do_not_wait_for_delayed_acks(shared_server) -> None:
    # With Nagle on, a response written as headers then body waits for the client's
    # delayed ACK: ~40 ms per request on Linux, whatever the machine's speed. With
    # TCP_NODELAY a loopback request takes about a millisecond; 20 ms separates the two
    # by an order of magnitude even on a loaded machine.
    with httpx.Client() as http:
        http.get(shared_server.url)  # the first request opens the connection
        samples = []
        for _ in range(10):
            t0 = time.perf_counter()
            http.post(shared_server.http_url("/graphql"), json={"query": "{ __typename }"})
            samples.append(time.perf_counter() - t0)
    assert statistics.median(samples) < 0.020, f"median {statistics.median(samples) * 1e3:.1f} ms"


async def test_an_idle_connection_outlives_uvicorns_default_keep_alive(shared_server) -> None:
    """A long-polling client's pong comes one ping interval (10 s) after its last POST: the
    connection it used must still be open then (uvicorn's own default closes it after 5 s).
    Waits 6 s for the server to close it, which it must not do."""
    import asyncio

    from servers.uvserver import KEEP_ALIVE_SECONDS

    reader, writer = await asyncio.open_connection("127.0.0.1", shared_server.port)
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 "), head
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        await asyncio.wait_for(reader.readexactly(length), 5)
        assert KEEP_ALIVE_SECONDS > 10
        closed = asyncio.ensure_future(reader.read(1))  # b"" once the server closes
        done, _ = await asyncio.wait({closed}, timeout=6.0)
        assert not done, "the server closed an idle connection within 6 s"
        closed.cancel()
    finally:
        writer.close()
