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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_attempts_number_plan_and_record_planned_and_actual_waits() -> None:
    from rtlab.backoff import Exponential
    from rtlab.state import ATTEMPT, BACKOFF, Timeline
    from rtlab.supervised import Attempts

    clock, timeline = Clock(), Timeline()
    attempts = Attempts(Exponential(base=1, cap=4), timeline, max_attempts=3, clock=clock)
    attempts.starting()  # the first connect is no retry
    assert timeline.total == 0
    planned = []
    for _ in range(3):
        assert not attempts.failed()
        planned.append(attempts.plan())
        clock.now += planned[-1] + 0.25  # the wait overran a little
        attempts.starting()
    assert planned == [1.0, 2.0, 4.0]
    assert [e.attempt for e in timeline.of_kind(BACKOFF)] == [1, 2, 3]
    assert [e.actual for e in timeline.of_kind(ATTEMPT)] == [1.25, 2.25, 4.25]
    assert attempts.failed()  # a fourth failure spends max_attempts=3
    assert "gave up after 3" in attempts.give_up_detail("boom")


def test_attempts_reset_after_a_handshake_restarts_numbering_and_policy() -> None:
    from rtlab.backoff import Exponential
    from rtlab.state import Timeline
    from rtlab.supervised import Attempts

    attempts = Attempts(Exponential(base=1, cap=8), Timeline())
    attempts.failed()
    attempts.plan()
    attempts.failed()
    assert attempts.plan() == 2.0
    attempts.reset()
    attempts.failed()
    assert attempts.number == 1 and attempts.plan() == 1.0
