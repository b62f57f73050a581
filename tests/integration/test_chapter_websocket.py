"""The chapter's WebSocketService port does what the Dart code does, each mistake pinned.

Each test names the seed line (``/work/shared/seed``... the chapter text) it relies on;
the port's module docstring lists them. Real server, real sockets, loopback only.
"""

from __future__ import annotations

import time

import pytest

from rtlab.chapter import ChapterWebSocketService
from rtlab.chapter.websocket_service import OPENED
from rtlab.waiting import until, until_count, until_state

FAST = {"reconnect_interval": 0.1, "min_delay": 0.1, "heartbeat_interval": 30.0}


def opened(service: ChapterWebSocketService) -> int:
    return sum(1 for e in service.timeline.of_kind("note") if e.detail == OPENED)


async def test_connected_before_the_handshake_and_queued_messages_lost(shared_server):
    # l.933-951: connect() returns at once, state connected, queue flushed into the sink.
    shared_server.chaos.reject(status=503, seconds=1.0)
    service = ChapterWebSocketService(shared_server.ws_url("/ws/echo"),
                                      max_reconnect_attempts=2, **FAST)
    try:
        service.queue.append('{"type": "queued before"}')
        await service.connect()
        assert service.state.value == "connected" and not service.socket_open
        service.send({"type": "hello"})
        await until(service.timeline, lambda _t: len(service.lost) >= 2, timeout=5)
        assert service.lost[:2] == ['{"type": "queued before"}', '{"type": "hello"}']
        assert service.timeline.of_kind("error")  # onError, then onDone
    finally:
        await service.dispose()
        shared_server.chaos.reset()


async def test_every_failure_is_attempt_one_and_reconnects_drop_the_headers(shared_server):
    # l.948 resets the counter on the premature "connected"; l.1029 calls connect() bare.
    shared_server.chaos.reject(status=503, seconds=1.0)
    service = ChapterWebSocketService(shared_server.ws_url("/ws/echo"),
                                      max_reconnect_attempts=3, **FAST)
    try:
        await service.connect(headers={"Authorization": "Bearer t"})
        await until_count(service.timeline, "backoff", 4, timeout=5)
        backoffs = service.timeline.of_kind("backoff")
        assert [e.attempt for e in backoffs[:4]] == [1, 1, 1, 1]  # max 3 never reached
        assert {e.delay for e in backoffs[:4]} == {0.1}  # never grows
        calls = [e.data for e in service.timeline.of_kind("note")
                 if e.detail.startswith("connect(")]
        assert calls[0] == {"Authorization": "Bearer t"} and calls[1] == {}
    finally:
        await service.dispose()
        shared_server.chaos.reset()


def test_the_delays_are_interval_times_two_to_the_n_clamped() -> None:
    # l.1020-1023: 5 s * 2^(n-1) clamped to [1 s, 60 s]; the comment (l.1019) says 1, 2, 4.
    service = ChapterWebSocketService("ws://127.0.0.1:9/")
    assert [service.delay_for(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


async def test_disconnect_leaves_the_reconnect_timer_running(shared_server):
    # l.1070-1075: _shouldReconnect = false, but the timer (l.1028) checks only _isDisposed.
    service = ChapterWebSocketService(shared_server.ws_url("/ws/echo"),
                                      reconnect_interval=0.3, min_delay=0.3)
    try:
        await service.connect()
        await until(service.timeline, lambda _t: service.socket_open, timeout=5)
        shared_server.chaos.drop(protocol="ws")
        await until_state(service, "reconnecting", timeout=5)
        await service.disconnect()
        assert service.state.value == "disconnected"
        await until_state(service, "connected", timeout=5)
        await until(service.timeline, lambda _t: opened(service) == 2, timeout=5)
    finally:
        await service.dispose()


async def test_heartbeat_only_while_connected_and_cancelled_on_cleanup(shared_server):
    # l.1044-1048: Timer.periodic sends only if isConnected; l.1064 cancels it.
    service = ChapterWebSocketService(shared_server.ws_url("/ws/echo"), heartbeat_interval=0.05,
                                      reconnect_interval=0.4, min_delay=0.4)
    try:
        await service.connect()
        await until(service.timeline, lambda _t: sum(
            1 for m in service.messages if isinstance(m, dict) and m.get("type") == "pong"
        ) >= 2, timeout=5)
        shared_server.chaos.drop(protocol="ws")
        await until_state(service, "reconnecting", timeout=5)
        assert service._heartbeat is None  # cancelled with the connection
        await until(service.timeline, lambda _t: opened(service) == 2, timeout=5)
        # eight heartbeat intervals offline, and not one ping was queued for later
        queued = [e for e in service.timeline.of_kind("note") if e.detail == "queued (offline)"]
        assert queued == [] and service.queue == []
    finally:
        await service.dispose()


@pytest.mark.timeout(30)
async def test_a_frozen_server_is_noticed_by_the_ping_and_what_was_sent_is_lost(shared_server):
    # l.936 pingInterval: dart:io pings and closes without a pong (within 2 intervals);
    # l.969-970: send() while "connected" writes into the dead socket, never re-sent.
    service = ChapterWebSocketService(shared_server.ws_url("/ws/echo"), heartbeat_interval=0.3,
                                      reconnect_interval=0.1, min_delay=0.1)
    try:
        await service.connect()
        await until(service.timeline, lambda _t: service.socket_open, timeout=5)
        shared_server.chaos.freeze()
        frozen = time.monotonic()
        for n in range(3):
            service.send({"type": "note", "payload": n})
        await until_state(service, "reconnecting", timeout=5)
        noticed = time.monotonic() - frozen
        assert noticed < 2 * 0.3 + 0.5
        shared_server.chaos.thaw()
        await until(service.timeline, lambda _t: opened(service) == 2, timeout=5)
        service.send({"type": "marker"})
        await until(service.timeline, lambda _t: any(
            isinstance(m, dict) and m.get("type") == "marker" for m in service.messages
        ), timeout=5)
        notes = [m for m in service.messages if isinstance(m, dict) and m.get("type") == "note"]
        assert notes == []  # the three notes were lost, and nothing says so
        assert service.queue == []
    finally:
        await service.dispose()
        shared_server.chaos.reset()
