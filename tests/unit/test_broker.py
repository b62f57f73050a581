"""The pure parts of scale-out: sequences, the event codec, record ids that two stores
seeded alike never share, and the in-process Socket.IO state (room members, the answers to
``clientId``s, ``flaky`` counts) that Redis shares across workers."""

from __future__ import annotations

import asyncio

import pytest

from servers.broker import codec
from servers.broker.calls import LocalCalls
from servers.broker.dedupe import LocalDedupe
from servers.broker.rooms import InOrder, LocalMembers
from servers.broker.sequence import LocalSequences
from servers.graphql import data
from servers.graphql.presence import PresenceEvent


async def test_sequences_increase_and_can_be_read_without_moving() -> None:
    sequences = LocalSequences()
    assert await sequences.current("doc:a") == 0
    assert [await sequences.next("doc:a") for _ in range(3)] == [1, 2, 3]
    assert await sequences.current("doc:a") == 3 and await sequences.next("doc:b") == 1


def test_every_event_kind_survives_the_broker() -> None:
    store = data.seeded()
    message = store.send_message("general", "1", "hi", 1.5,
                                 (data.Attachment("image", "https://example.com/a.png"),))
    events = [message, store.create_post("2", "Title", "Body", 2.0),
              store.notify("3", "MENTION", "you", 3.0, action_url="/x"),
              PresenceEvent("guest-1", "ONLINE", 1, 1, 4.0)]
    for event in events:
        assert codec.loads(codec.dumps(event)) == event


def test_the_codec_refuses_what_it_does_not_know() -> None:
    with pytest.raises(TypeError):
        codec.dumps({"not": "a record"})
    for raw in (b"{}", b"not json", b'{"type": "os.system", "fields": {}}',
                b'{"type": "PostRecord", "fields": {"id": 1}}'):
        with pytest.raises(codec.UnknownEvent):
            codec.loads(raw)


def test_stores_seeded_alike_hand_out_different_ids() -> None:
    stores = [data.seeded() for _ in range(3)]
    for index, store in enumerate(stores):
        store.interleave_ids(index, len(stores))
    seeded_posts = set(stores[0].posts)
    posts = [store.create_post("1", f"t{n}", "c", 1.0).id for n in range(4) for store in stores]
    messages = [store.send_message("r", "1", "x", 1.0).id for store in stores for _ in "ab"]
    for made in (posts, messages):
        assert len(set(made)) == len(made) and all(i.isdigit() for i in made)
    assert not seeded_posts & set(posts)


# -- Socket.IO state: the in-process implementations (the default, no Redis) -----------------
async def test_members_are_listed_sorted_per_room_and_namespace() -> None:
    members = LocalMembers()
    assert await members.join("/chat", "room:a", "s1", "carol") == ["carol"]
    assert await members.join("/chat", "room:a", "s2", "alice") == ["alice", "carol"]
    assert await members.join("/chat", "room:a", "s3", "alice") == ["alice", "alice", "carol"]
    assert await members.join("/chat", "room:a", "s2", "alice") == ["alice", "alice", "carol"]
    assert await members.join("/collab", "room:a", "s4", "bob") == ["bob"]
    assert await members.leave("/chat", "room:a", "s1") == ["alice", "alice"]
    await members.join("/chat", "room:b", "s2", "alice")
    await members.gone("/chat", "s2", ["room:a", "room:b"])
    assert await members.leave("/chat", "room:a", "s3") == []
    assert members.rooms == {("/collab", "room:a"): {"s4": "bob"}}  # empty rooms go


async def test_the_first_answer_to_a_client_id_is_kept_and_repeated() -> None:
    sequences = LocalSequences()
    dedupe = LocalDedupe(sequences, window=2)
    made = iter(range(100))

    def make() -> dict[str, int]:
        return {"n": next(made)}

    assert await dedupe.first(("chat", "", "1", "c1"), make) == ({"n": 0}, False)
    assert await dedupe.first(("chat", "", "1", "c1"), make) == ({"n": 0}, True)
    assert await dedupe.first(("chat", "", "2", "c1"), make) == ({"n": 1}, False)  # bob's own
    # a numbered answer draws its version once, for the first copy only
    assert await dedupe.first(("doc", "", "1", "c1"), make, version_of="doc:d") == (
        {"n": 2, "version": 1}, False)
    assert await dedupe.first(("doc", "", "1", "c1"), make, version_of="doc:d") == (
        {"n": 2, "version": 1}, True)
    assert await sequences.current("doc:d") == 1
    # the window keeps the last two: the oldest is answered anew
    assert await dedupe.first(("chat", "", "1", "c1"), make) == ({"n": 3}, False)


async def test_calls_are_counted_per_key_in_a_bounded_window() -> None:
    calls = LocalCalls(window=2)
    assert [await calls.count(("", "a")) for _ in range(3)] == [1, 2, 3]
    assert await calls.count(("ada", "a")) == 1  # another classroom client's key
    assert await calls.count(("", "b")) == 1  # ("", "a") falls out of the window
    assert await calls.count(("", "a")) == 1


async def test_operations_on_one_key_run_in_order_and_others_do_not_wait() -> None:
    order = InOrder()
    release = asyncio.Event()
    log: list[str] = []

    async def step(name: str, gate: asyncio.Event | None = None) -> str:
        log.append(f"{name} starts")
        if gate is not None:
            await gate.wait()
        log.append(f"{name} ends")
        return name

    join = asyncio.create_task(order.run("s1", lambda: step("join", release)))
    gone = asyncio.create_task(order.run("s1", lambda: step("gone")))
    other = asyncio.create_task(order.run("s2", lambda: step("other")))
    assert await other == "other"  # s2 does not wait for s1's join
    assert log == ["join starts", "other starts", "other ends"]
    release.set()
    assert [await join, await gone] == ["join", "gone"]
    assert log[3:] == ["join ends", "gone starts", "gone ends"]
    assert order._last == {}  # nothing kept once a key is idle
