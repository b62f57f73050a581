"""Socket.IO state that a class split over two workers shares through Redis
(``python -m servers --workers 2 --broker redis://…``): room members, the first answer to a
``clientId`` and ``flaky`` counts. A client on worker 0 and one on worker 1 must get the
answers one process would give them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import socketio

from servers.broker import MAX_CONNECTIONS, Broker
from servers.broker.dedupe import TTL_MS
from tests.integration.scaleout_support import log_says, login, sio_on, worker_pids


def heard(client: socketio.AsyncClient, event: str, namespace: str) -> asyncio.Queue[Any]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    client.on(event, queue.put_nowait, namespace=namespace)
    return queue


async def join(client: socketio.AsyncClient, room: str) -> list[str]:
    ack = await client.call("join", {"room": room}, namespace="/chat", timeout=5)
    assert ack["room"] == room, ack
    return ack["members"]


async def close(*clients: socketio.AsyncClient) -> None:
    for client in clients:
        await client.eio.disconnect(abort=True)


async def test_room_members_are_listed_from_both_workers(workers):
    alice = await sio_on(workers, 0, ["websocket"], login(workers, "alice")["access_token"])
    bob = await sio_on(workers, 1, ["polling"], login(workers, "bob")["access_token"])
    carol = await sio_on(workers, 1, ["websocket"], login(workers, "carol")["access_token"],
                         namespaces=("/chat", "/collab"))
    left = heard(alice, "user_left", "/chat")
    try:
        assert await join(bob, "roll") == ["bob"]
        assert await join(alice, "roll") == ["alice", "bob"]
        assert await join(bob, "roll") == ["alice", "bob"]  # asked again: the same list
        assert await join(carol, "roll") == ["alice", "bob", "carol"]
        ack = await bob.call("leave", {"room": "roll"}, namespace="/chat", timeout=5)
        assert ack == {"room": "roll", "members": ["alice", "carol"]}
        await close(carol)  # a disconnect takes carol out before the others hear of it
        assert await asyncio.wait_for(left.get(), 5) == {"room": "roll", "user": "bob"}
        assert await asyncio.wait_for(left.get(), 5) == {"room": "roll", "user": "carol"}
        assert await join(alice, "roll") == ["alice"]
        # a document's members too
        token = login(workers, "carol")["access_token"]
        editors = [await sio_on(workers, n, ["websocket"], token, ("/collab",)) for n in (0, 1)]
        acks = [await c.call("join", {"documentId": "roll.md"}, namespace="/collab", timeout=5)
                for c in editors]
        assert [a["members"] for a in acks] == [["carol"], ["carol", "carol"]]
        await close(*editors)
    finally:
        await close(alice, bob, carol)


async def test_a_killed_workers_members_are_gone_once_it_is_started_again(workers):
    alice = await sio_on(workers, 0, ["websocket"], login(workers, "alice")["access_token"])
    bob = await sio_on(workers, 1, ["websocket"], login(workers, "bob")["access_token"])
    try:
        await join(bob, "survivors")
        assert await join(alice, "survivors") == ["alice", "bob"]
        os.kill(worker_pids(workers.pid)[1], 9)  # no disconnect handler runs for bob
        await log_says(workers, "worker 1 serves again")
        assert await join(alice, "survivors") == ["alice"]
        carol = await sio_on(workers, 1, ["websocket"], login(workers, "carol")["access_token"])
        assert await join(carol, "survivors") == ["alice", "carol"]
        await close(carol)
    finally:
        await close(alice, bob)


async def test_a_retry_on_the_other_worker_gets_the_first_answer_and_no_second_broadcast(
        workers):
    token = login(workers, "alice")["access_token"]
    first_link = await sio_on(workers, 0, ["websocket"], token)
    retry_link = await sio_on(workers, 1, ["websocket"], token)  # alice after a reconnect
    bob = await sio_on(workers, 1, ["websocket"], login(workers, "bob")["access_token"])
    messages = heard(bob, "chat_message", "/chat")
    try:
        for client in (first_link, retry_link, bob):
            await join(client, "retries")
        body = {"room": "retries", "text": "once", "clientId": "nb-retry-1"}
        first = await first_link.call("chat_message", body, namespace="/chat", timeout=5)
        again = await retry_link.call("chat_message", body, namespace="/chat", timeout=5)
        assert again == {**first, "duplicate": True}
        await retry_link.call("chat_message", {"room": "retries", "text": "barrier"},
                              namespace="/chat", timeout=5)
        texts = [(await asyncio.wait_for(messages.get(), 5))["text"] for _ in range(2)]
        assert texts == ["once", "barrier"]
    finally:
        await close(first_link, retry_link, bob)


async def test_copies_racing_on_both_workers_are_broadcast_once(workers):
    """Ten clientIds, each sent at once on worker 0 and on worker 1: one copy of each is
    first (chat: one broadcast; collab: one version, no gap left by the other copy)."""
    token = login(workers, "alice")["access_token"]
    links = [await sio_on(workers, n, ["websocket"], token, ("/chat", "/collab"))
             for n in (0, 1)]
    bob = await sio_on(workers, 1, ["websocket"], login(workers, "bob")["access_token"],
                       namespaces=("/chat", "/collab"))
    messages = heard(bob, "chat_message", "/chat")
    changes = heard(bob, "doc_change", "/collab")
    try:
        for client in (*links, bob):
            await join(client, "race")
            await client.call("join", {"documentId": "race.md"}, namespace="/collab", timeout=5)
        for n in range(10):
            chat = {"room": "race", "text": f"race {n}", "clientId": f"race-{n}"}
            doc = {"documentId": "race.md", "operation": f"op {n}", "clientId": f"race-{n}"}
            acks = await asyncio.gather(*(
                c.call(event, body, namespace=namespace, timeout=5) for c in links
                for event, body, namespace in (("chat_message", chat, "/chat"),
                                               ("doc_change", doc, "/collab"))))
            chat_acks, doc_acks = acks[0::2], acks[1::2]
            for pair in (chat_acks, doc_acks):
                assert sorted(bool(a.get("duplicate")) for a in pair) == [False, True], pair
                assert {k: v for k, v in pair[0].items() if k != "duplicate"} == {
                    k: v for k, v in pair[1].items() if k != "duplicate"}
            assert doc_acks[0]["version"] == n + 1  # the losing copy drew no version
        await links[0].call("chat_message", {"room": "race", "text": "barrier"},
                            namespace="/chat", timeout=5)
        texts = [(await asyncio.wait_for(messages.get(), 5))["text"] for _ in range(11)]
        assert sorted(texts) == sorted([f"race {n}" for n in range(10)] + ["barrier"])
        assert texts[-1] == "barrier"
        versions = [(await asyncio.wait_for(changes.get(), 5))["version"] for _ in range(10)]
        assert versions == list(range(1, 11)) and changes.empty()
    finally:
        await close(*links, bob)


async def test_flaky_counts_carry_across_workers(workers):
    clients = [await sio_on(workers, n, ["websocket"], namespaces=("/",)) for n in (0, 1)]
    try:
        answers = [await clients[n].call("flaky", {"key": "shared", "ignore": 0}, timeout=5)
                   for n in (0, 1, 0)]
        assert [a["calls"] for a in answers] == [1, 2, 3]
        # a retry on the other worker is call 4: past ``ignore`` 3, so it is answered
        assert await clients[1].call("flaky", {"key": "shared", "ignore": 3}, timeout=5) == {
            "key": "shared", "calls": 4}
    finally:
        await close(*clients)


async def test_the_redis_state_is_atomic_bounded_and_cleared_by_a_restarted_worker(
        redis_server):
    brokers = [Broker(redis_server.url, worker=n, workers=2) for n in (0, 1)]
    try:
        # the first answer wins once among twenty concurrent copies on two workers
        sequences = [b.sequences() for b in brokers]
        dedupes = [b.dedupe(s) for b, s in zip(brokers, sequences, strict=True)]
        key = ("doc", "ada:1", "1", "c:1")
        # ten open connections per worker first: the copies then race instead of queueing
        # behind the opening of one connection each
        await asyncio.gather(*(b.redis.ping() for b in brokers for _ in range(10)))
        results = await asyncio.gather(*(
            dedupes[i % 2].first(key, lambda i=i: {"documentId": "d", "by": i},
                                 version_of="doc:d") for i in range(20)))
        firsts = [answer for answer, repeat in results if not repeat]
        assert len(firsts) == 1 and all(answer == firsts[0] for answer, _ in results)
        assert firsts[0]["version"] == 1 and await sequences[0].current("doc:d") == 1
        # parts are quoted: ("ada", "1:1", …) is another sender, not the same key
        other, repeat = await dedupes[1].first(("doc", "ada", "1:1", "c:1"),
                                               lambda: {"documentId": "d"}, version_of="doc:d")
        assert (other["version"], repeat) == (2, False)
        stored = [k async for k in brokers[0].redis.scan_iter(match="rtlab:dedupe:*")]
        assert len(stored) == 2
        assert all(0 < ttl <= TTL_MS for ttl in [await brokers[0].redis.pttl(k) for k in stored])
        # flaky counts: one per key, forgotten after a while
        calls = [b.calls() for b in brokers]
        assert [await calls[i % 2].count(("", "k")) for i in range(4)] == [1, 2, 3, 4]
        assert 0 < await brokers[1].redis.pttl("rtlab:calls::k")
        # members: a worker started again under the same number drops its predecessor's
        members = [b.members() for b in brokers]
        await members[0].join("/chat", "room:r", "w0-a", "alice")
        assert await members[1].join("/chat", "room:r", "w1-b", "bob") == ["alice", "bob"]
        restarted = Broker(redis_server.url, worker=1, workers=2)
        await restarted.members().clear_mine()
        await restarted.redis.aclose()
        assert await members[0].join("/chat", "room:r", "w0-a", "alice") == ["alice"]
        await members[0].gone("/chat", "w0-a", ["room:r"])
        assert [k async for k in brokers[0].redis.scan_iter(match="rtlab:members:*")] == []
    finally:
        for broker in brokers:
            await broker.redis.aclose()


async def test_a_class_joining_at_once_on_one_worker_is_answered_in_full(redis_server):
    """More joins in flight than the worker's Redis pool has connections: they wait for
    one, none fails; every ack lists the class so far, the last one all of it."""
    broker = Broker(redis_server.url, worker=0, workers=2)
    try:
        members = broker.members()
        acks = await asyncio.gather(*(
            members.join("/chat", "room:herd", f"w0-{n}", f"s{n:03}")
            for n in range(3 * MAX_CONNECTIONS)))
        assert sorted(len(ack) for ack in acks) == list(range(1, 3 * MAX_CONNECTIONS + 1))
        assert max(acks, key=len) == [f"s{n:03}" for n in range(3 * MAX_CONNECTIONS)]
    finally:
        await broker.redis.aclose()
