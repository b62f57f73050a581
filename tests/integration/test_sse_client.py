"""``ReconnectingEventSource`` against the real demo server: resume, retry, stop, half-open."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from rtlab.backoff import Constant, Exponential
from rtlab.chapter import ChapterSSEService
from rtlab.sse import ClientClosed, ConnectionFailed, ReconnectingEventSource
from rtlab.state import ATTEMPT, BACKOFF, FRAME_IN
from rtlab.waiting import until, until_count


async def _news(source: ReconnectingEventSource, n: int) -> list[int]:
    """The ids of the next ``n`` news events."""
    ids = []
    while len(ids) < n:
        event = await asyncio.wait_for(source.recv(), 10)
        if event.type == "news":
            assert event.json()["id"] == int(event.id)
            ids.append(int(event.id))
    return ids


async def test_1000_events_through_10_drops_arrive_without_gap_or_duplicate(lab_server) -> None:
    source = ReconnectingEventSource(
        lab_server.http_url("/sse/news?interval=0.002&retry=20"), heartbeat_timeout=5, name="drops"
    )
    await source.connect(timeout=5)
    ids: list[int] = []
    dropped = []
    try:
        for _ in range(10):
            ids += await _news(source, 90)
            dropped.append((await lab_server.chaos.adrop("sse"))["dropped"])
        ids += await _news(source, 1000 - len(ids))
    finally:
        await source.close()
    assert dropped == [1] * 10  # each drop really cut the live stream
    assert source.connections == 11
    assert ids == list(range(ids[0], ids[0] + 1000))  # no gap, no duplicate, in order
    # The server replayed what was published while we were away: resumes were not "live from".
    assert len(source.timeline.of_kind(ATTEMPT)) == 10


async def test_retry_from_the_server_is_honoured(lab_server) -> None:
    source = ReconnectingEventSource(
        lab_server.http_url("/sse/news?interval=0.05&retry=400"), retry=5.0, name="retry"
    )
    await source.connect(timeout=5)
    # The first block carries retry: 400 (it arrives just after the response head).
    await until(source.timeline, lambda t: source.retry == 0.4, timeout=5)
    await lab_server.chaos.adrop("sse")
    await until_count(source.timeline, ATTEMPT, 1, timeout=5)
    await source.close()
    backoff = source.timeline.of_kind(BACKOFF)[0]
    attempt = source.timeline.of_kind(ATTEMPT)[0]
    assert backoff.delay == pytest.approx(0.4)
    assert 0.38 <= attempt.actual < 1.5  # waited the server's 0.4 s, not the default 5 s


async def test_last_event_id_is_sent_and_events_are_replayed(shared_server) -> None:
    url = shared_server.http_url("/sse/news?interval=0.01")
    async with ReconnectingEventSource(url) as first:
        seen = await _news(first, 5)
    # A new client starting from a stored position gets everything after it.
    async with ReconnectingEventSource(url, last_event_id=str(seen[1])) as later:
        assert (await _news(later, 3)) == [seen[1] + 1, seen[1] + 2, seen[1] + 3]


async def test_204_stops_for_good(shared_server) -> None:
    source = ReconnectingEventSource(shared_server.http_url("/sse/news?status=204"), retry=0.01)
    with pytest.raises(ClientClosed, match="204"):
        await source.connect(timeout=5)
    assert source.state == "disconnected" and source.stopped
    assert source.failure is None
    assert source.timeline.of_kind(ATTEMPT) == []  # never asked again
    assert [e async for e in source] == []  # iteration just ends
    await source.close()


async def test_401_stops_with_an_error(shared_server) -> None:
    source = ReconnectingEventSource(shared_server.http_url("/sse/news?auth=1"), retry=0.01)
    with pytest.raises(ConnectionFailed, match="401") as caught:
        await source.connect(timeout=5)
    assert caught.value.status == 401
    assert source.state == "error"
    assert source.timeline.of_kind(ATTEMPT) == []
    with pytest.raises(ConnectionFailed, match="401"):
        await source.recv()
    await source.close()


async def test_a_valid_token_opens_the_protected_stream(shared_server) -> None:
    async with httpx.AsyncClient() as http:
        login = await http.post(shared_server.http_url("/auth/login"),
                                json={"username": "alice", "password": "password"})
    token = login.json()["access_token"]
    source = ReconnectingEventSource(
        shared_server.http_url("/sse/news?auth=1&interval=0.02"),
        headers=lambda: {"Authorization": f"Bearer {token}"},
    )
    async with source:
        assert len(await _news(source, 2)) == 2


async def test_wrong_content_type_stops_with_a_clear_error(shared_server) -> None:
    source = ReconnectingEventSource(shared_server.http_url("/"))
    with pytest.raises(ConnectionFailed, match="Content-Type 'application/json'"):
        await source.connect(timeout=5)
    assert source.state == "error"
    await source.close()


async def test_503_is_retried_only_when_asked(lab_server) -> None:
    lab_server.chaos.reject(status=503, seconds=0.5)
    strict = ReconnectingEventSource(lab_server.http_url("/sse/news"))
    with pytest.raises(ConnectionFailed, match="503"):
        await strict.connect(timeout=5)
    await strict.close()
    patient = ReconnectingEventSource(
        lab_server.http_url("/sse/news?interval=0.02"), retry=0.1,
        policy=Constant(0.1), retry_statuses={503},
    )
    await patient.connect(timeout=5)
    assert len(patient.timeline.of_kind(ATTEMPT)) >= 1
    await patient.close()


async def test_a_frozen_stream_is_replaced_within_heartbeat_timeout_without_gap(lab_server) -> None:
    source = ReconnectingEventSource(
        lab_server.http_url("/sse/news?interval=0.02&ping=0.2&retry=50"), heartbeat_timeout=0.6
    )
    await source.connect(timeout=5)
    before = await _news(source, 5)
    frozen = await lab_server.chaos.afreeze()
    assert frozen["connections"] >= 1
    t0 = time.monotonic()
    try:
        await source.wait_for("reconnecting", timeout=5)
        noticed = time.monotonic() - t0
        await source.wait_for("connected", timeout=5)  # a new link is not frozen
        after = await _news(source, 30)
    finally:
        await lab_server.chaos.athaw()
        await source.close()
    assert noticed < 0.6 + 0.5
    ids = before + after
    assert ids == list(range(ids[0], ids[0] + len(ids)))


async def test_close_leaves_nothing_running_and_the_server_notices(lab_server) -> None:
    sources = [ReconnectingEventSource(lab_server.http_url("/sse/ticker?interval=0.05"))
               for _ in range(3)]
    for source in sources:
        await source.connect(timeout=5)
    async with httpx.AsyncClient() as http:
        stats = (await http.get(lab_server.http_url("/sse/stats?streams=3&timeout=5"))).json()
        assert stats["streams"] == 3
        for source in sources:
            await source.close()
        stats = (await http.get(lab_server.http_url("/sse/stats?streams=0&timeout=5"))).json()
    assert stats["streams"] == 0 and stats["closed"] == 3
    assert all(s.state == "disconnected" and s._supervisor.done() for s in sources)
    unread = [e async for e in sources[0]]  # what arrived before close still comes out ...
    assert all(e.type in ("tick", "ping") for e in unread)
    with pytest.raises(ClientClosed):  # ... then the end, without hanging
        await sources[0].recv()


async def test_unread_events_are_dropped_oldest_first_and_counted(shared_server) -> None:
    source = ReconnectingEventSource(shared_server.http_url("/sse/news?interval=0"), inbox_size=10)
    await source.connect(timeout=5)
    await until(source.timeline, lambda t: source.inbox_dropped > 0, timeout=5)
    await source.close()
    assert any("inbox full" in e.detail for e in source.timeline.events)
    assert source.received >= 10 + source.inbox_dropped


async def test_chapter_service_keeps_asking_a_server_that_said_stop(shared_server) -> None:
    chapter = ChapterSSEService(shared_server.http_url("/sse/news?status=204"), retry_interval=0.05)
    chapter.connect()
    await until(chapter.timeline, lambda t: chapter.requests >= 4, timeout=5)
    await chapter.dispose()
    fixed = ReconnectingEventSource(shared_server.http_url("/sse/news?status=204"), retry=0.05)
    with pytest.raises(ClientClosed):
        await fixed.connect(timeout=5)
    await fixed.close()
    assert len(fixed.timeline.of_kind(FRAME_IN)) == 0
    assert fixed.timeline.of_kind(ATTEMPT) == []


async def test_repeated_failures_back_off_from_the_retry_floor_then_give_up() -> None:
    # Nothing listens on port 9 of loopback: every attempt fails at once (a real refused connect).
    source = ReconnectingEventSource(
        "http://127.0.0.1:9/sse/news", retry=0.01, max_attempts=3,
        policy=Exponential(base=0.02, factor=2, cap=1.0),
    )
    with pytest.raises(ConnectionFailed, match="gave up after 3 reconnect attempts"):
        await source.connect(timeout=5)
    await source.close()
    planned = [e.delay for e in source.timeline.of_kind(BACKOFF)]
    assert planned == [0.01, 0.02, 0.04]  # retry first, then the policy (floored by retry)
    assert source.state == "disconnected" and source.connections == 0
