"""The fault matrix's bookkeeping: a ledger of numbered messages, and a subscription's gaps."""

from __future__ import annotations

import asyncio

from rtlab.state import STATE, ConnectionState, Event, Timeline
from rtlab.teaching.ledger import Ledger, outages, split_lost

S = ConnectionState


def ledger_of(made: dict[int, float], got: list[tuple[int, float]]) -> Ledger:
    ledger = Ledger()
    for key, at in made.items():
        ledger.make(key, at=at)
    for key, at in got:
        ledger.receive(key, at=at)
    return ledger


def states(*pairs: tuple[float, ConnectionState]) -> list[Event]:
    return [Event(t, STATE, state=state) for t, state in pairs]


def test_lost_duplicated_and_first_after() -> None:
    ledger = ledger_of({1: 0.1, 2: 0.2, 3: 0.3}, [(1, 0.15), (3, 0.5), (3, 0.6)])
    assert ledger.lost() == [2]
    assert ledger.duplicated() == 1
    assert ledger.first_after(0.4) == 0.5
    assert ledger.first_after(0.6) is None


async def test_until_wakes_on_a_receipt_and_on_the_clients_timeline() -> None:
    timeline = Timeline()
    ledger = Ledger(timeline)
    waiting = asyncio.ensure_future(ledger.until(lambda: len(ledger.got) == 1, 5))
    await asyncio.sleep(0)
    ledger.receive("a")
    assert await waiting is True
    flag = []
    waiting = asyncio.ensure_future(ledger.until(lambda: bool(flag), 5))
    await asyncio.sleep(0)
    flag.append(1)
    timeline.record("note", detail="something changed")  # wakes the waiter, no receipt
    assert await waiting is True
    assert await ledger.until(lambda: False, 0.01) is False


def test_an_outage_runs_from_the_last_message_through_to_connected_again() -> None:
    ledger = ledger_of({1: 1.0, 2: 1.9, 3: 2.5, 4: 4.0}, [(1, 1.01), (2, 1.95), (4, 4.1)])
    transitions = states((0.5, S.CONNECTING), (0.9, S.CONNECTED), (2.6, S.RECONNECTING),
                         (2.7, S.CONNECTING), (3.5, S.CONNECTED))
    assert outages(transitions, ledger) == [(1.9, 3.5)]  # message 2 was the last through
    in_gap, outside = split_lost(ledger, outages(transitions, ledger), settle=0.25)
    assert (in_gap, outside) == ([3], [])


def test_an_outage_not_over_runs_to_infinity_and_before_the_first_connect_is_none() -> None:
    ledger = ledger_of({1: 1.0}, [])
    transitions = states((0.5, S.CONNECTING), (0.7, S.RECONNECTING), (0.8, S.CONNECTING),
                         (1.2, S.CONNECTED), (2.0, S.RECONNECTING))
    assert outages(transitions, ledger) == [(2.0, float("inf"))]  # nothing got through: t


def test_a_message_lost_outside_every_gap_is_a_broken_promise() -> None:
    ledger = ledger_of({1: 1.0, 2: 5.0, 3: 3.6}, [(1, 1.1)])
    gaps = [(2.0, 3.5)]
    in_gap, outside = split_lost(ledger, gaps, settle=0.25)
    assert in_gap == [3]  # within settle after the gap: the server had not the subscribe yet
    assert outside == [2]
