"""servers.graphql.pubsub: fan-out never waits on a subscriber; one that overflows is evicted
(its stream ends with SlowConsumer and its on_overflow runs) while the others keep going."""

from __future__ import annotations

import asyncio

import pytest

from servers.graphql.pubsub import LocalPubSub, SlowConsumer


async def test_overflowing_subscriber_is_evicted_and_others_keep_everything() -> None:
    hub = LocalPubSub(limit=3)
    evicted: list[str] = []
    async with hub.subscribe("t", on_overflow=lambda: evicted.append("slow")) as slow, \
            hub.subscribe("t") as fast:
        got: list[int] = []
        for i in range(5):
            assert await hub.publish("t", i) >= 1  # never blocks
            got.append(await anext(fast))
        assert got == [0, 1, 2, 3, 4] and evicted == ["slow"] and hub.evictions == 1
        assert await hub.subscribers("t") == 1
        assert [await anext(slow) for _ in range(3)] == [0, 1, 2]  # what it had, then the end
        with pytest.raises(SlowConsumer):
            await anext(slow)
    assert await hub.subscribers("t") == 0


async def test_publish_reaches_only_the_topic_and_leaving_unsubscribes() -> None:
    hub = LocalPubSub()
    async with hub.subscribe("a") as a:
        assert await hub.publish("b", "x") == 0
        assert await hub.publish("a", "y") == 1
        assert await asyncio.wait_for(anext(a), 1) == "y"
    assert await hub.publish("a", "z") == 0
