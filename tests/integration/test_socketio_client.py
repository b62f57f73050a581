"""``rtlab.socketio.SocketIOClient`` against the real server: faults, buffers, acks, close."""

from __future__ import annotations

import asyncio
import time

import pytest

from rtlab.backoff import Constant, Exponential
from rtlab.socketio import AckTimeout, QueueFull, SocketIOClient, fresh_login
from rtlab.state import ATTEMPT, BACKOFF
from rtlab.waiting import until, until_count

TRANSPORTS = [("polling",), ("polling", "websocket")]


def received(client: SocketIOClient, event: str) -> list:
    return [e.data["data"] for e in client.timeline.of_kind("in")
            if isinstance(e.data, dict) and e.data.get("event") == event]


def chat_client(server, user: str, room: str, **options) -> SocketIOClient:
    """A /chat client that (re)joins ``room`` on every connect."""
    client = SocketIOClient(server.url, token=fresh_login(server.url, user),
                            namespaces=("/chat",), name=user, **options)
    client.on("connect", lambda: client.call("join", {"room": room}, namespace="/chat"),
              namespace="/chat")
    return client


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "upgrade"])
async def test_buffered_emits_survive_kill_and_restart_exactly_once(lab_server, transports):
    alice = chat_client(lab_server, "alice", "buf", transports=transports, policy=Constant(1.5))
    await alice.connect(timeout=5)
    lab_server.kill()
    await alice.wait_for("reconnecting", timeout=5)
    for n in range(10):
        await alice.emit("chat_message", {"room": "buf", "text": f"m{n}"}, namespace="/chat")
    assert alice.pending == 10
    await asyncio.to_thread(lab_server.restart)
    bob = chat_client(lab_server, "bob", "buf")  # joins before alice's next attempt (1.5 s)
    await bob.connect(timeout=5)
    await until(bob.timeline, lambda _t: len(received(bob, "chat_message")) >= 10, timeout=10)
    await alice.call("chat_message", {"room": "buf", "text": "barrier"}, namespace="/chat")
    await until(bob.timeline, lambda _t: len(received(bob, "chat_message")) >= 11, timeout=5)
    texts = [m["text"] for m in received(bob, "chat_message")]
    assert texts == [f"m{n}" for n in range(10)] + ["barrier"]
    assert alice.pending == 0 and alice.connections == 2
    for c in (alice, bob):
        await c.close()


async def test_handlers_registered_before_connect_survive_reconnects(shared_server):
    ticks = []
    client = SocketIOClient(shared_server.url, policy=Constant(0.05))
    client.on("tick", ticks.append)
    client.on("connect", lambda: client.call("ticker", {"rate": 20}))
    await client.connect(timeout=5)
    await until(client.timeline, lambda _t: len(ticks) >= 2, timeout=5)
    await shared_server.chaos.adrop(protocol="socketio")
    await until(client.timeline, lambda _t: client.connections == 2, timeout=5)
    before = len(ticks)
    await until(client.timeline, lambda _t: len(ticks) >= before + 2, timeout=5)
    await client.close()


async def test_reconnect_attempts_are_recorded_with_their_delays(lab_server):
    policy = Exponential(base=0.05, cap=0.2)
    client = SocketIOClient(lab_server.url, policy=policy)
    await client.connect(timeout=5)
    lab_server.kill()
    await until_count(client.timeline, ATTEMPT, 3, timeout=5)
    planned = [e.delay for e in client.timeline.of_kind(BACKOFF)][:3]
    assert planned == [0.05, 0.1, 0.2]
    attempts = client.timeline.of_kind(ATTEMPT)[:3]
    assert [e.attempt for e in attempts] == [1, 2, 3]
    assert all(e.actual >= e.delay * 0.9 for e in attempts)
    await client.close()
    assert client.state == "disconnected"


async def test_ack_timeout_retries_then_succeeds(shared_server):
    async with SocketIOClient(shared_server.url, ack_timeout=0.2, ack_retries=2) as client:
        answer = await client.call("flaky", {"key": f"ok-{time.time()}", "ignore": 2})
        assert answer["calls"] == 3
        notes = [e.detail for e in client.timeline.of_kind("note") if "retry" in e.detail]
        assert len(notes) == 2
        with pytest.raises(AckTimeout):
            await client.call("flaky", {"key": f"no-{time.time()}", "ignore": 5}, retries=1)
        assert client.pending == 0


async def test_a_call_cut_off_by_a_drop_is_resent_without_using_a_retry(shared_server):
    client = SocketIOClient(shared_server.url, policy=Constant(0.05))
    await client.connect(timeout=5)
    key = f"drop-{time.time()}"
    waiting = asyncio.ensure_future(
        client.call("flaky", {"key": key, "ignore": 1}, timeout=5, retries=0))
    await until(client.timeline, lambda t: bool(t.of_kind("out")), timeout=5)
    await shared_server.chaos.adrop(protocol="socketio")
    answer = await asyncio.wait_for(waiting, 5)
    assert answer["calls"] == 2 and client.connections == 2
    await client.close()


async def test_full_buffer_rejects_with_a_clear_error(lab_server):
    client = SocketIOClient(lab_server.url, queue_size=3, policy=Constant(5))
    await client.connect(timeout=5)
    lab_server.kill()
    await client.wait_for("reconnecting", timeout=5)
    for n in range(3):
        await client.emit("echo", n)
    with pytest.raises(QueueFull):
        await client.emit("echo", 3)
    await client.close()
    assert any("not sent" in e.detail for e in client.timeline.of_kind("note"))


async def test_close_is_prompt_on_polling_and_tells_the_server(shared_server):
    bob = chat_client(shared_server, "bob", "bye")
    alice = chat_client(shared_server, "alice", "bye", transports=("polling",))
    await bob.connect(timeout=5)
    await alice.connect(timeout=5)
    await until(bob.timeline, lambda _t: received(bob, "user_joined"), timeout=5)
    started = time.monotonic()
    await alice.close()
    assert time.monotonic() - started < 0.6
    await until(bob.timeline, lambda _t: received(bob, "user_left"), timeout=2)
    assert alice.state == "disconnected"
    await bob.close()
    await asyncio.sleep(0)  # let cancelled tasks finish unwinding
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not [t for t in tasks if "socketio" in repr(t) or "engineio" in repr(t)]


async def test_emit_to_an_unknown_namespace_fails_fast(shared_server):
    async with SocketIOClient(shared_server.url) as client:
        with pytest.raises(ValueError):
            await client.emit("echo", 1, namespace="/nope")
