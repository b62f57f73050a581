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
