"""The pure parts of scale-out: sequences, the event codec, and record ids that two stores
seeded alike never share."""

from __future__ import annotations

import pytest

from servers.broker import codec
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
