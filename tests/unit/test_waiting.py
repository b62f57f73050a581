"""Waiting on a timeline wakes on the event, from this loop or from another thread."""

import asyncio
import threading

import pytest

from rtlab.state import NOTE, STATE, ConnectionState, StateMachine, Timeline
from rtlab.waiting import until, until_count, until_state


async def test_returns_at_once_when_already_true() -> None:
    await asyncio.wait_for(until(Timeline(), lambda t: True), 0.5)


async def test_wakes_on_the_matching_event_only() -> None:
    timeline = Timeline()
    waiter = asyncio.ensure_future(until_count(timeline, NOTE, 2))
    timeline.record(NOTE)
    await asyncio.sleep(0)
    assert not waiter.done()
    timeline.record(NOTE)
    await asyncio.wait_for(waiter, 1)


async def test_wakes_from_another_thread() -> None:
    class Client:
        timeline = Timeline()
        machine = StateMachine(timeline)

        @property
        def state(self) -> ConnectionState:
            return self.machine.state

    client = Client()
    waiter = asyncio.ensure_future(until_state(client, "connecting"))
    await asyncio.sleep(0)
    threading.Thread(target=client.machine.to, args=(ConnectionState.CONNECTING,)).start()
    await asyncio.wait_for(waiter, 2)
    assert client.timeline.of_kind(STATE)


async def test_times_out_and_unsubscribes() -> None:
    timeline = Timeline()
    with pytest.raises(TimeoutError):
        await until(timeline, lambda t: False, timeout=0.05)
    assert timeline.listener_count == 0
