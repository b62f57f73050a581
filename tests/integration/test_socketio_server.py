"""The Socket.IO contract of ``python -m servers``: namespaces, rooms, acks, auth, bad input.

Real clients (``rtlab.socketio`` on python-socketio) against the real server process.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import socketio

from rtlab.socketio import SocketIOClient
from rtlab.waiting import until

TRANSPORTS = [("polling",), ("websocket",)]


def login(server, username: str) -> str:
    answer = httpx.post(server.http_url("/auth/login"),
                        json={"username": username, "password": "password"})
    return answer.json()["access_token"]


def received(client: SocketIOClient, event: str) -> list:
    return [e.data["data"] for e in client.timeline.of_kind("in")
            if isinstance(e.data, dict) and e.data.get("event") == event]


@pytest.fixture
async def clients(shared_server):
    made: list[SocketIOClient] = []

    async def make(user: str | None = None, **options) -> SocketIOClient:
        options.setdefault("namespaces", ("/", "/chat"))
        client = SocketIOClient(shared_server.url, token=login(shared_server, user) if user
                                else None, name=user or "guest", **options)
        made.append(client)
        await client.connect(timeout=5)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket"])
async def test_echo_and_whoami_on_each_transport(clients, transports):
    alice = await clients("alice", transports=transports)
    assert alice.transport == transports[0]
    assert await alice.call("echo", {"n": [1, 2]}) == {"n": [1, 2]}
    me = await alice.call("whoami")
    assert me == {"userId": "1", "user": "alice", "transport": transports[0]}


async def test_chat_reaches_the_other_members_of_the_room_only(clients):
    alice, bob, carol = await clients("alice"), await clients("bob"), await clients("carol")
    joined = await alice.call("join", {"room": "iso-a"}, namespace="/chat")
    assert joined == {"room": "iso-a", "members": ["alice"]}
    assert (await bob.call("join", {"room": "iso-a"}, namespace="/chat"))["members"] == [
        "alice", "bob"]
    await until(alice.timeline, lambda _t: received(alice, "user_joined"), timeout=5)
    assert received(alice, "user_joined") == [{"room": "iso-a", "user": "bob"}]
    await carol.call("join", {"room": "iso-b"}, namespace="/chat")
    await bob.call("join", {"room": "iso-b"}, namespace="/chat")

    ack = await alice.call("chat_message", {"room": "iso-a", "text": "for A"}, namespace="/chat")
    assert set(ack) == {"id", "ts"}
    await until(bob.timeline, lambda _t: received(bob, "chat_message"), timeout=5)
    # A later message to room B is a barrier: carol gets it, and nothing from room A before it.
    await bob.call("chat_message", {"room": "iso-b", "text": "for B"}, namespace="/chat")
    await until(carol.timeline, lambda _t: received(carol, "chat_message"), timeout=5)
    assert [m["text"] for m in received(carol, "chat_message")] == ["for B"]
    got = received(bob, "chat_message")[0]
    assert got["text"] == "for A" and got["id"] == ack["id"] and got["user"] == "alice"
    assert received(alice, "chat_message") == []  # never back to the sender


async def test_leave_and_disconnect_tell_the_others(clients):
    alice, bob = await clients("alice"), await clients("bob")
    for c in (alice, bob):
        await c.call("join", {"room": "lv"}, namespace="/chat")
    assert await bob.call("leave", {"room": "lv"}, namespace="/chat") == {
        "room": "lv", "members": ["alice"]}
    await until(alice.timeline, lambda _t: received(alice, "user_left"), timeout=5)
    assert (await bob.call("leave", {"room": "lv"}, namespace="/chat"))["error"]


async def test_a_client_that_disconnects_is_no_longer_listed(clients):
    alice, bob = [await clients(u, namespaces=("/chat", "/collab")) for u in ("alice", "bob")]
    for c in (alice, bob):
        await c.call("join", {"room": "gone"}, namespace="/chat")
        await c.call("join", {"documentId": "gone.md"}, namespace="/collab")
    await bob.close()
    await until(alice.timeline, lambda _t: len(received(alice, "user_left")) == 2, timeout=5)
    assert await alice.call("join", {"room": "gone"}, namespace="/chat") == {
        "room": "gone", "members": ["alice"]}
    doc = await alice.call("join", {"documentId": "gone.md"}, namespace="/collab")
    assert doc["members"] == ["alice"]


async def test_guest_may_listen_but_not_send(clients):
    guest = await clients(None)
    assert (await guest.call("join", {"room": "g"}, namespace="/chat"))["room"] == "g"
    answer = await guest.call("chat_message", {"room": "g", "text": "hi"}, namespace="/chat")
    assert "unauthenticated" in answer["error"]


async def test_collab_refuses_guests_and_bad_tokens(shared_server):
    guest = SocketIOClient(shared_server.url, namespaces=("/collab",), max_attempts=3)
    with pytest.raises(ConnectionError):
        await guest.connect(timeout=5)
    assert guest.state == "error"
    forged = SocketIOClient(shared_server.url, token="not.a.jwt", namespaces=("/chat",))
    with pytest.raises(ConnectionError):
        await forged.connect(timeout=5)
    assert "credentials refused" in forged.timeline.events[-1].detail
    for c in (guest, forged):
        await c.close()


async def test_collab_cursors_and_versions(clients):
    alice = await clients("alice", namespaces=("/collab",))
    bob = await clients("bob", namespaces=("/collab",))
    assert await alice.call("join", {"documentId": "d1"}, namespace="/collab") == {
        "documentId": "d1", "version": 0, "members": ["alice"]}
    await bob.call("join", {"documentId": "d1"}, namespace="/collab")
    await alice.call("cursor_move", {"documentId": "d1", "position": {"line": 3, "column": 7}},
                     namespace="/collab")
    await until(bob.timeline, lambda _t: received(bob, "cursor_move"), timeout=5)
    assert received(bob, "cursor_move") == [
        {"documentId": "d1", "userId": "1", "user": "alice", "position": {"line": 3, "column": 7}}]
    assert received(alice, "cursor_move") == []

    async def change(client, n):
        return await client.call("doc_change", {"documentId": "d1", "operation": f"op{n}"},
                                 namespace="/collab")

    acks = await asyncio.gather(*(change(alice if n % 2 else bob, n) for n in range(20)))
    versions = sorted(a["version"] for a in acks)
    assert versions == list(range(1, 21))
    await until(bob.timeline, lambda _t: len(received(bob, "doc_change")) == 10, timeout=5)
    seen = [m["version"] for m in received(bob, "doc_change")]
    assert seen == sorted(seen) and all(m["userId"] == "1" for m in received(bob, "doc_change"))


async def test_a_retried_message_with_a_client_id_is_delivered_once(clients):
    alice, bob = await clients("alice"), await clients("bob")
    for c in (alice, bob):
        await c.call("join", {"room": "dd"}, namespace="/chat")
    body = {"room": "dd", "text": "once", "clientId": "dedupe-1"}
    first = await alice.call("chat_message", body, namespace="/chat")
    second = await alice.call("chat_message", body, namespace="/chat")
    assert second == {**first, "duplicate": True}
    await alice.call("chat_message", {"room": "dd", "text": "barrier"}, namespace="/chat")
    await until(bob.timeline, lambda _t: len(received(bob, "chat_message")) == 2, timeout=5)
    assert [m["text"] for m in received(bob, "chat_message")] == ["once", "barrier"]


BAD = [
    ("/chat", "join", "general"),
    ("/chat", "join", {"room": ""}),
    ("/chat", "join", {"room": "x" * 65}),
    ("/chat", "join", {"room": 42}),
    ("/chat", "leave", {"room": "never-joined"}),
    ("/chat", "chat_message", {"room": "never-joined", "text": "hi"}),
    ("/chat", "chat_message", {"room": "general"}),
    ("/chat", "chat_message", {"room": "general", "text": "x" * 2001}),
    ("/chat", "no_such_event", {}),
    ("/", "flaky", {"key": "k", "ignore": "two"}),
    ("/", "ticker", {"rate": 1e9}),
    ("/", "whoami", (1, 2)),
]


async def test_bad_payloads_get_an_error_ack_and_an_error_event(clients):
    alice = await clients("alice")
    for namespace, event, data in BAD:
        answer = await alice.call(event, data, namespace=namespace)
        assert isinstance(answer, dict) and answer.get("error"), (event, data, answer)
    await until(alice.timeline, lambda _t: len(received(alice, "error")) == len(BAD), timeout=5)
    assert await alice.call("echo", "still here") == "still here"


async def test_an_oversized_message_costs_that_link_only(shared_server, clients):
    raw = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await raw.connect(shared_server.url, transports=["websocket"])
    await raw.emit("echo", "x" * 300_000)
    await raw.wait()  # the server closes that connection
    alice = await clients("alice")
    assert await alice.call("echo", 1) == 1


async def test_shutdown_stays_bounded_with_long_polls_open(launch_server):
    server = launch_server()
    polling = [SocketIOClient(server.url, transports=("polling",)) for _ in range(3)]
    for client in polling:
        await client.connect(timeout=5)
    started = time.monotonic()
    await asyncio.to_thread(server.stop, 5.0)
    assert time.monotonic() - started <= 2.0
    for client in polling:
        await client.close()
