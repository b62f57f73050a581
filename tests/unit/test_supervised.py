"""The shared client skeleton: wait_for wakes on state changes and fails fast once stopped."""

import asyncio

import pytest

from rtlab.state import ConnectionState
from rtlab.supervised import Supervised

S = ConnectionState


class Toy(Supervised):
    def __init__(self) -> None:
        self.name = "toy"
        self._init_supervision(None)

    async def run(self, *states: ConnectionState) -> None:
        for state in states:
            await asyncio.sleep(0)
            self._machine.to(state)


async def test_wait_for_returns_when_the_state_is_reached() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(toy.run(S.CONNECTING, S.CONNECTED))
    await toy.wait_for("connected", timeout=1)
    assert toy.connected and toy.timeline.states() == [S.CONNECTING, S.CONNECTED]


async def test_wait_for_fails_fast_when_the_supervisor_stops_short() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(toy.run(S.CONNECTING, S.ERROR))
    with pytest.raises(ConnectionError, match="stopped in state error"):
        await toy.wait_for("connected", timeout=1)


async def test_wait_for_times_out_while_still_running() -> None:
    toy = Toy()
    toy._supervisor = asyncio.ensure_future(asyncio.sleep(10))
    with pytest.raises(TimeoutError):
        await toy.wait_for("connected", timeout=0.05)
    toy._supervisor.cancel()
