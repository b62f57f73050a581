"""The redraw throttle: exact decisions on a fake clock, and the asyncio glue on a real loop."""

from __future__ import annotations

import asyncio
import heapq
import threading
import time

import pytest

from rtlab.widgets.throttle import Throttle, ThrottledRedraw


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sim:
    """A tiny discrete-event loop: the same protocol the asyncio glue follows."""

    def __init__(self, min_interval: float) -> None:
        self.clock = FakeClock()
        self.throttle = Throttle(min_interval, self.clock)
        self.queue: list[tuple[float, int, str]] = []
        self.seq = 0
        self.draws: list[float] = []

    def at(self, t: float, what: str) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (t, self.seq, what))

    def run(self) -> None:
        while self.queue:
            t, _, what = heapq.heappop(self.queue)
            self.clock.now = t
            if what == "event":
                delay = self.throttle.mark()
            else:
                delay = self.throttle.flush(lambda: self.draws.append(self.clock.now))
            if delay is not None:
                self.at(t + delay, "flush")


def test_steady_stream_redraws_once_per_interval_plus_trailing() -> None:
    # Integer milliseconds keep the arithmetic exact: an event every ms for 1 s.
    sim = Sim(min_interval=100)
    for t in range(1000):
        sim.at(t, "event")
    sim.run()
    assert sim.draws == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert sim.throttle.redraws == 11
    assert not sim.throttle.dirty and not sim.throttle.pending


def test_min_interval_respected_and_final_state_drawn() -> None:
    sim = Sim(min_interval=100)
    times = [0, 3, 7, 150, 151, 152, 420, 421, 999]
    for t in times:
        sim.at(t, "event")
    sim.run()
    gaps = [b - a for a, b in zip(sim.draws, sim.draws[1:], strict=False)]
    assert all(g >= 100 for g in gaps), sim.draws
    # Trailing redraw: something is drawn at or after the last event.
    assert sim.draws[-1] >= times[-1]
    assert sim.draws == [0, 100, 200, 420, 520, 999]


def test_first_mark_after_idle_draws_at_once() -> None:
    clock = FakeClock(50.0)
    th = Throttle(0.1, clock)
    assert th.mark() == 0.0
    assert th.mark() is None  # a flush is already scheduled
    drawn: list[int] = []
    assert th.flush(lambda: drawn.append(1)) is None
    assert drawn == [1]
    clock.now += 10
    assert th.mark() == 0.0  # long idle: no waiting


def test_flush_too_early_asks_to_reschedule() -> None:
    clock = FakeClock(0.0)
    th = Throttle(0.1, clock)
    th.mark()
    th.flush(lambda: None)
    clock.now = 0.03
    assert th.mark() == pytest.approx(0.07)
    clock.now = 0.05  # fired early (clock resolution)
    assert th.flush(lambda: pytest.fail("must not draw yet")) == pytest.approx(0.05)
    assert th.pending
    clock.now = 0.1
    assert th.flush(lambda: None) is None
    assert th.redraws == 2


def test_flush_with_nothing_dirty_clears_pending() -> None:
    th = Throttle(0.1, FakeClock())
    th.mark()
    th.draw_now(lambda: None)  # an explicit redraw took the change
    assert th.flush(lambda: pytest.fail("nothing to draw")) is None
    assert not th.pending


def test_negative_interval_refused() -> None:
    with pytest.raises(ValueError):
        Throttle(-1)


def test_no_loop_redraws_synchronously() -> None:
    seen: list[int] = []
    renders: list[list[int]] = []
    r = ThrottledRedraw(lambda: renders.append(list(seen)), seen.append)
    assert r.loop is None
    r.push(1)
    r.push(2)
    assert renders == [[1], [1, 2]]
    assert r.renders == 2


async def test_burst_on_loop_is_one_redraw_then_throttled() -> None:
    seen: list[int] = []
    renders: list[tuple[float, int]] = []
    r = ThrottledRedraw(lambda: renders.append((time.monotonic(), len(seen))), seen.append)
    for i in range(1000):
        r.push(i)
    assert renders == []  # nothing drawn inside the burst
    await r.flushed()
    assert [n for _, n in renders] == [1000]
    r.push(1000)
    await r.flushed()
    assert [n for _, n in renders] == [1000, 1001]
    assert renders[1][0] - renders[0][0] >= 0.1 - 0.005


async def test_push_from_thread_is_applied_and_drawn_on_the_loop() -> None:
    loop_thread = threading.get_ident()
    applied_in: set[int] = set()
    rendered_in: set[int] = set()
    seen: list[int] = []

    def apply(item: int) -> None:
        applied_in.add(threading.get_ident())
        seen.append(item)

    r = ThrottledRedraw(lambda: rendered_in.add(threading.get_ident()), apply)

    def worker() -> None:
        for i in range(500):
            r.push(i)

    await asyncio.to_thread(worker)
    await r.flushed()
    assert seen == list(range(500))
    assert applied_in == {loop_thread}
    assert rendered_in == {loop_thread}
    assert r.renders <= 3


async def test_closed_redraw_ignores_pushes() -> None:
    renders: list[int] = []
    r = ThrottledRedraw(lambda: renders.append(1))
    r.push()
    r.close()
    r.push()
    await asyncio.sleep(0.01)
    await r.flushed()
    assert renders == []
