"""The connection state table, the machine that enforces it, and the timeline."""

import threading

import pytest

from rtlab.state import (
    ATTEMPT,
    FRAME_IN,
    FRAME_OUT,
    STATE,
    TRANSITIONS,
    ConnectionState,
    Event,
    IllegalTransition,
    StateMachine,
    Timeline,
    transition_rows,
)

S = ConnectionState


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_state_has_a_row_and_no_self_loops() -> None:
    assert set(TRANSITIONS) == set(S)
    for state, targets in TRANSITIONS.items():
        assert state not in targets


def test_connected_only_after_connecting() -> None:
    sources = {a for a, targets in TRANSITIONS.items() if S.CONNECTED in targets}
    assert sources == {S.CONNECTING}


@pytest.mark.parametrize("old", list(S))
@pytest.mark.parametrize("new", list(S))
def test_machine_allows_exactly_the_table(old: ConnectionState, new: ConnectionState) -> None:
    machine = StateMachine(Timeline(), initial=old)
    if old == new:
        machine.to(new)  # staying put is a no-op, never an error
        assert machine.timeline.total == 0
    elif new in TRANSITIONS[old]:
        machine.to(new)
        assert machine.state is new
        assert machine.timeline.states() == [new]
    else:
        with pytest.raises(IllegalTransition, match=f"{old.value} -> {new.value}"):
            machine.to(new)
        assert machine.state is old


def test_chapter_shortcut_is_illegal() -> None:
    machine = StateMachine(Timeline())
    with pytest.raises(IllegalTransition):
        machine.to(S.CONNECTED)  # the chapter sets connected before any handshake


def test_timeline_stamps_with_injected_clock_and_bounds_memory() -> None:
    clock = FakeClock()
    timeline = Timeline(maxlen=3, clock=clock)
    for n in range(5):
        clock.now = 100.0 + n
        timeline.record(ATTEMPT, attempt=n + 1, delay=0.5)
    assert len(timeline) == 3
    assert timeline.total == 5
    assert [e.t for e in timeline] == [102.0, 103.0, 104.0]
    assert [e.attempt for e in timeline.of_kind(ATTEMPT)] == [3, 4, 5]


def test_listeners_get_events_and_can_unsubscribe() -> None:
    timeline = Timeline()
    seen: list[Event] = []
    unsubscribe = timeline.subscribe(seen.append)
    timeline.record(STATE, state=S.CONNECTING)
    unsubscribe()
    timeline.record(STATE, state=S.CONNECTED)
    assert [e.state for e in seen] == [S.CONNECTING]


def test_recording_from_threads_loses_nothing() -> None:
    timeline = Timeline(maxlen=100_000)
    threads = [
        threading.Thread(target=lambda: [timeline.record("note") for _ in range(1000)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert timeline.total == 4000
    assert len(timeline) == 4000


def test_rows_cover_the_table() -> None:
    rows = transition_rows()
    assert len(rows) == sum(len(v) for v in TRANSITIONS.values())
    assert ("connecting", "connected") in rows
    assert ("disconnected", "connected") not in rows


def test_describe_reads_like_a_log() -> None:
    assert Event(0, STATE, state=S.CONNECTED).describe() == "state -> connected"
    assert "after 0.250s" in Event(0, ATTEMPT, attempt=2, actual=0.25).describe()


def test_frame_records_the_same_event_as_record_listened_to_or_not() -> None:
    clock = FakeClock()
    timeline = Timeline(clock=clock)
    timeline.frame(FRAME_IN, {"n": 1})  # nobody listens: kept in its short form
    seen: list[Event] = []
    timeline.subscribe(seen.append)
    timeline.frame(FRAME_OUT, "two")
    timeline.record(STATE, state=S.CONNECTING)
    expected = [Event(100.0, FRAME_IN, data={"n": 1}), Event(100.0, FRAME_OUT, data="two"),
                Event(100.0, STATE, state=S.CONNECTING)]
    assert timeline.events == list(timeline) == expected
    assert all(type(e) is Event for e in timeline.events)
    assert seen == expected[1:] and timeline.total == len(timeline) == 3
    assert timeline.of_kind(FRAME_IN, STATE) == [expected[0], expected[2]]
    assert timeline.states() == [S.CONNECTING]
    assert timeline.of_kind(FRAME_IN)[0].describe() == "<- {'n': 1}"


def test_a_listener_that_unsubscribes_itself_mid_event_is_safe() -> None:
    timeline = Timeline()
    calls: list[str] = []

    def once(_event: Event) -> None:
        calls.append("once")
        stop()

    stop = timeline.subscribe(once)
    timeline.subscribe(lambda _e: calls.append("always"))
    timeline.frame(FRAME_OUT, "a")
    timeline.frame(FRAME_OUT, "b")
    assert calls == ["once", "always", "always"] and timeline.listener_count == 1


def test_frames_from_threads_lose_nothing_either() -> None:
    timeline = Timeline(maxlen=100_000)
    threads = [threading.Thread(target=lambda: [timeline.frame(FRAME_IN, n) for n in range(1000)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert timeline.total == len(timeline) == 4000


def test_the_machine_tells_its_owner_of_each_move() -> None:
    moves: list[ConnectionState] = []
    machine = StateMachine(Timeline(), on_change=moves.append)
    machine.to(S.CONNECTING)
    machine.to(S.CONNECTING)  # not a move
    machine.to(S.CONNECTED)
    with pytest.raises(IllegalTransition):
        machine.to(S.CONNECTING)
    assert moves == [S.CONNECTING, S.CONNECTED]
