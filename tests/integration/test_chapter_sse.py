"""The chapter's SSEService port (seed l.1415-1603): the connection mistakes the notebook shows.

The parsing mistakes are pinned in tests/integration/test_sse_server.py and the SSE parser
tests; the 204/401 loop in test_sse_client.py.
"""

from __future__ import annotations

import pytest

from rtlab.chapter import ChapterSSEService
from rtlab.sse import ConnectionFailed, ReconnectingEventSource
from rtlab.waiting import until


def attempts(service: ChapterSSEService) -> list[float]:
    return [e.t for e in service.timeline.of_kind("attempt")]


async def test_the_servers_retry_is_parsed_and_ignored(shared_server):
    # l.1519-1524: "// Update retry interval" and nothing; _scheduleReconnect uses retryInterval.
    url = shared_server.http_url("/sse/news?interval=0.05&retry=50")
    service = ChapterSSEService(url, retry_interval=0.6)
    try:
        service.connect()
        await until(service.timeline, lambda _t: service.state.value == "connected", timeout=5)
        shared_server.chaos.drop(protocol="sse")
        await until(service.timeline, lambda _t: len(attempts(service)) >= 2, timeout=5)
        first, second = attempts(service)[:2]
        waited = second - first
        assert waited >= 0.6  # its own 0.6 s, not the server's 0.05 s
    finally:
        await service.dispose()


async def test_any_200_is_connected_whatever_the_content_type(shared_server):
    # l.1457-1458: statusCode == 200 -> _handleResponse, no Content-Type check.
    url = shared_server.http_url("/graphql?query=%7B__typename%7D")
    service = ChapterSSEService(url, retry_interval=5.0)
    fixed = ReconnectingEventSource(url, name="fixed")
    try:
        service.connect()
        await until(service.timeline, lambda t: "connected" in t.states(), timeout=5)
        with pytest.raises(ConnectionFailed, match="Content-Type"):
            await fixed.connect(timeout=5)
    finally:
        await service.dispose()
        await fixed.close()


async def test_disconnect_is_forever(shared_server):
    # l.1564 _shouldReconnect = false; connect() (l.1442-1465) never sets it back.
    url = shared_server.http_url("/sse/news?interval=0.05")
    service = ChapterSSEService(url, retry_interval=0.05)
    control = ChapterSSEService(url, retry_interval=0.4)  # never disconnected
    try:
        service.connect()
        await until(service.timeline, lambda _t: service.state.value == "connected", timeout=5)
        await service.disconnect()
        service.connect()  # "connect again later"
        control.connect()
        await until(service.timeline, lambda _t: service.state.value == "connected", timeout=5)
        await until(control.timeline, lambda _t: control.state.value == "connected", timeout=5)
        before = service.requests
        shared_server.chaos.drop(protocol="sse")
        await until(control.timeline, lambda _t: control.requests >= 2, timeout=5)
        assert service.requests == before  # 0.05 s retry, and after 0.4 s still no request
        assert service.state.value == "disconnected"
    finally:
        await service.dispose()
        await control.dispose()
