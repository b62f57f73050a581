"""ReconnectingWebSocket against the real demo server process: every fault, every promise."""

from __future__ import annotations

import asyncio
import time

import pytest

from rtlab.backoff import Constant, Exponential
from rtlab.envelope import Envelope
from rtlab.state import ATTEMPT, BACKOFF, ERROR, NOTE, ConnectionState
from rtlab.waiting import until
from rtlab.ws import ConnectionFailed, QueueFull, ReconnectingWebSocket, echo_ack

S = ConnectionState
FAST = Constant(0.05)


def client(server, path: str = "/ws/echo", **options) -> ReconnectingWebSocket:
    options.setdefault("policy", FAST)
    options.setdefault("heartbeat_interval", None)
    return ReconnectingWebSocket(server.ws_url(path), **options)


async def recv_until(c: ReconnectingWebSocket, kind: str, timeout: float = 5.0) -> dict:
    async def loop() -> dict:
        while True:
            message = await c.recv()
            if isinstance(message, dict) and message.get("type") == kind:
                return message

    return await asyncio.wait_for(loop(), timeout)


async def test_echo_and_app_ping(lab_server) -> None:
    async with client(lab_server) as c:
        await c.send(Envelope("hello", {"n": 1}, id="m1"))
        echoed = await recv_until(c, "hello")
        assert echoed["id"] == "m1" and echoed["payload"] == {"n": 1}
        await c.send({"type": "ping", "id": "p1"})
        assert (await recv_until(c, "pong"))["type"] == "pong"


async def test_connected_only_after_a_finished_handshake(lab_server) -> None:
    lab_server.chaos.reject(status=503, seconds=30)
    c = client(lab_server)
    await c.connect(wait=False)
    await c.wait_for(S.RECONNECTING, timeout=5)
    await c.wait_for(S.CONNECTING, timeout=5)
    await c.wait_for(S.RECONNECTING, timeout=5)
    assert S.CONNECTED not in c.timeline.states()
    refused = [e for e in c.timeline.of_kind(ERROR) if e.data == 503]
    assert refused and "HTTP 503" in refused[0].detail
    lab_server.chaos.reset()
    await c.wait_for(S.CONNECTED, timeout=5)
    await c.close()


async def test_kill_and_restart_reconnects_with_the_policy(lab_server) -> None:
    c = client(lab_server, policy=Exponential(base=0.05, cap=0.2))
    await c.connect(timeout=5)
    lab_server.kill()
    await c.wait_for(S.RECONNECTING, timeout=5)
    # Let a few attempts fail against the dead port, then bring it back.
    while len(c.timeline.of_kind(ATTEMPT)) < 3:
        await c.wait_for(S.RECONNECTING, timeout=5)
        await c.wait_for(S.CONNECTING, timeout=5)
    lab_server.restart()
    await c.wait_for(S.CONNECTED, timeout=5)
    planned = [e.delay for e in c.timeline.of_kind(BACKOFF)]
    assert planned[:3] == [0.05, 0.1, 0.2]
    for attempt in c.timeline.of_kind(ATTEMPT):
        assert attempt.actual >= attempt.delay - 0.01  # never earlier than planned
    await c.send({"type": "after", "id": "x"})
    assert (await recv_until(c, "after"))["id"] == "x"
    await c.close()


async def test_gives_up_after_max_attempts_with_a_clear_error(lab_server) -> None:
    lab_server.kill()
    c = client(lab_server, max_attempts=2)
    with pytest.raises(ConnectionFailed, match="error"):
        await c.connect(timeout=5)
    assert c.state is S.ERROR
    assert "gave up after 2" in c.timeline.events[-1].detail
    assert len(c.timeline.of_kind(ATTEMPT)) == 2
    await c.close()
    assert c.state is S.DISCONNECTED


async def test_heartbeat_catches_a_frozen_process_within_its_bound(lab_server) -> None:
    interval, timeout = 0.3, 0.3
    c = client(lab_server, heartbeat_interval=interval, heartbeat_timeout=timeout)
    await c.connect(timeout=5)
    lab_server.freeze()  # SIGSTOP: the kernel keeps the TCP link up, nobody answers
    frozen_at = time.monotonic()
    try:
        await c.wait_for(S.RECONNECTING, timeout=5)
        noticed = time.monotonic() - frozen_at
    finally:
        lab_server.thaw()
    assert noticed <= interval + timeout + 0.5
    assert any("no pong" in e.detail for e in c.timeline.of_kind(NOTE))
    await c.wait_for(S.CONNECTED, timeout=5)
    await c.close()


async def test_heartbeat_catches_a_chaos_freeze(lab_server) -> None:
    c = client(lab_server, heartbeat_interval=0.2, heartbeat_timeout=0.3)
    await c.connect(timeout=5)
    lab_server.chaos.freeze()
    try:
        await c.wait_for(S.RECONNECTING, timeout=5)
    finally:
        lab_server.chaos.thaw()
    await c.wait_for(S.CONNECTED, timeout=5)
    await c.close()


async def test_chaos_drop_then_queued_messages_arrive(lab_server) -> None:
    c = client(lab_server, ack_id=echo_ack)
    await c.connect(timeout=5)
    lab_server.chaos.reject(status=503, seconds=30)
    lab_server.chaos.drop(protocol="ws", mode="abort")
    await c.wait_for(S.RECONNECTING, timeout=5)
    for n in range(5):
        await c.send({"type": "queued", "id": f"q{n}"})
    assert c.pending == 5
    lab_server.chaos.reset()
    got = [(await recv_until(c, "queued"))["id"] for _ in range(5)]
    assert got == [f"q{n}" for n in range(5)]
    assert c.pending == 0
    await c.close()


async def test_thousand_messages_across_five_restarts_exactly_once_in_order(lab_server) -> None:
    c = client(lab_server, ack_id=echo_ack, queue_size=2000)
    await c.connect(timeout=5)
    total, restarts = 1000, 5
    received: list[int] = []

    async def produce() -> None:
        for n in range(total):
            # A window of 50 unacknowledged messages: the producer cannot run ahead of
            # the restarts, and every kill finds messages in flight.
            await until(c.timeline, lambda _t: c.pending < 50)
            await c.send({"type": "seq", "id": str(n), "payload": n})

    async def consume() -> None:
        while len(received) < total:
            message = await c.recv()
            if message.get("type") == "seq":
                received.append(message["payload"])

    async def chaos() -> None:
        for k in range(1, restarts + 1):
            threshold = k * total // (restarts + 1)
            await until(c.timeline, lambda _t, threshold=threshold: len(received) >= threshold)
            lab_server.kill()
            await c.wait_for(S.RECONNECTING, timeout=5)
            await asyncio.to_thread(lab_server.restart)
            await c.wait_for(S.CONNECTED, timeout=10)

    await asyncio.wait_for(asyncio.gather(produce(), consume(), chaos()), 60)
    assert received == list(range(total))
    assert c.connections == restarts + 1
    assert c.pending == 0
    await c.close()


async def test_headers_are_re_evaluated_on_every_attempt(lab_server) -> None:
    calls: list[int] = []

    async def headers() -> dict[str, str]:
        calls.append(len(calls) + 1)
        return {"Authorization": f"Bearer token-{len(calls)}"}

    c = client(lab_server, headers=headers)
    await c.connect(timeout=5)
    lab_server.chaos.drop(protocol="ws", mode="abort")
    await c.wait_for(S.RECONNECTING, timeout=5)
    await c.wait_for(S.CONNECTED, timeout=5)
    assert calls == [1, 2]
    await c.close()


async def test_malformed_frame_gets_an_error_and_the_link_stays(lab_server) -> None:
    async with client(lab_server) as c:
        await c.send("{this is not json")
        error = await recv_until(c, "error")
        assert "JSON" in str(error["payload"]) or "json" in str(error["payload"])
        await c.send({"type": "still", "id": "s"})
        assert (await recv_until(c, "still"))["id"] == "s"
        assert c.connections == 1


async def test_oversize_frame_closes_1009_and_the_client_recovers(lab_server) -> None:
    async with client(lab_server) as c:
        await c.send({"type": "big", "payload": "x" * (1 << 20)})
        await c.wait_for(S.RECONNECTING, timeout=5)
        assert any("1009" in e.detail for e in c.timeline.of_kind(NOTE))
        await c.wait_for(S.CONNECTED, timeout=5)


async def test_offline_queue_is_bounded_and_says_so(lab_server) -> None:
    lab_server.kill()
    rejecting = client(lab_server, queue_size=3)
    await rejecting.connect(wait=False)
    for n in range(3):
        await rejecting.send({"type": "q", "id": str(n)})
    with pytest.raises(QueueFull, match="queue_size=3"):
        await rejecting.send({"type": "q", "id": "3"})
    dropping = client(lab_server, queue_size=2, overflow="drop-oldest")
    await dropping.connect(wait=False)
    for n in range(3):
        await dropping.send({"type": "q", "id": str(n)})
    notes = [e for e in dropping.timeline.of_kind(NOTE) if "dropped oldest" in e.detail]
    assert [e.data["id"] for e in notes] == ["0"]
    assert dropping.pending == 2
    await rejecting.close()
    await dropping.close()


async def test_heartbeats_are_never_queued(lab_server) -> None:
    c = client(lab_server, heartbeat_interval=0.05, heartbeat_timeout=0.05)
    await c.connect(timeout=5)
    lab_server.kill()
    await c.wait_for(S.RECONNECTING, timeout=5)
    await c.send({"type": "mine"})
    for _ in range(3):  # several heartbeat periods pass while offline
        await c.wait_for(S.CONNECTING, timeout=5)
        await c.wait_for(S.RECONNECTING, timeout=5)
    assert c.pending == 1
    await c.close()


async def test_close_leaves_no_task_and_no_socket(lab_server) -> None:
    before = asyncio.all_tasks()
    c = client(lab_server, heartbeat_interval=0.1)
    await c.connect(timeout=5)
    await c.send({"type": "x"})
    await c.close()
    left = asyncio.all_tasks() - before
    assert not left, left
    assert lab_server.chaos.stats()["ws"] == 0 or await _eventually_zero(lab_server)
    with pytest.raises(ConnectionError):
        await c.send({"type": "after close"})


async def _eventually_zero(server) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if server.chaos.stats()["ws"] == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_token_source_signs_every_reconnect_in(launch_server) -> None:
    from rtlab.auth import TokenManager

    server = launch_server(token_ttl=60)
    tokens = TokenManager(server.url, "alice", margin=5)
    c = client(server, "/ws/chat?room=auth", headers=tokens.headers)
    await c.connect(timeout=5)
    first = await recv_until(c, "joined")
    server.kill()
    await c.wait_for(S.RECONNECTING, timeout=5)
    server.restart()  # a new process: a new signing secret, every old token is void
    tokens.tokens = None  # the manager notices on its own only via a 401; here: log in again
    await c.wait_for(S.CONNECTED, timeout=5)
    again = await recv_until(c, "joined")
    assert first["payload"]["user"] == again["payload"]["user"] == "alice"
    assert tokens.logins == 2
    await c.close()


async def test_a_stale_token_is_refused_with_a_reason(lab_server) -> None:
    c = client(lab_server, "/ws/chat?room=auth", headers={"Authorization": "Bearer forged"})
    await c.connect(timeout=5)
    refused = await recv_until(c, "error")
    assert "token refused" in refused["payload"]["message"]
    assert (await recv_until(c, "joined"))["payload"]["user"] is None
    await c.close()
