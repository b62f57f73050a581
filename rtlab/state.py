"""Connection states, the legal transitions between them, and a timeline of events.

Everything that decides which state may follow which lives in ``TRANSITIONS``
below, as data: the state machine checks it, notebook 04 draws it, and no
client keeps a private idea of what "connected" means.

The timeline is the one observable history of a client: state changes,
reconnect attempts with their planned and actual delay, frames in and out.
Widgets, tests and benchmarks all read it. It takes its clock as an argument,
so a test can drive it with exact numbers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from rtlab.errors import IllegalTransition


class ConnectionState(StrEnum):
    """The five states every rtlab client reports (the chapter's vocabulary)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"


S = ConnectionState

#: state -> the states that may follow it. ``connected`` is reachable only from
#: ``connecting``: a client is connected when its handshake has finished, not
#: when it has started one (the chapter's service gets this wrong).
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    S.DISCONNECTED: frozenset({S.CONNECTING}),
    S.CONNECTING: frozenset({S.CONNECTED, S.RECONNECTING, S.ERROR, S.DISCONNECTED}),
    S.CONNECTED: frozenset({S.RECONNECTING, S.ERROR, S.DISCONNECTED}),
    S.RECONNECTING: frozenset({S.CONNECTING, S.ERROR, S.DISCONNECTED}),
    S.ERROR: frozenset({S.CONNECTING, S.DISCONNECTED}),
}


def check_transition(old: ConnectionState, new: ConnectionState) -> None:
    """Raise :class:`IllegalTransition` unless ``old -> new`` is in the table."""
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old]))
        raise IllegalTransition(
            f"{old.value} -> {new.value} is not allowed (from {old.value}: {allowed})"
        )


def transition_rows() -> list[tuple[str, str]]:
    """The table as sorted ``(from, to)`` pairs, for drawing and printing."""
    return sorted((a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets)


#: Event kinds a timeline holds.
STATE = "state"  # a state change; ``state`` is the new state
BACKOFF = "backoff"  # a reconnect was scheduled; ``attempt`` and planned ``delay``
ATTEMPT = "attempt"  # a connect attempt started; ``attempt``, planned ``delay``, ``actual`` wait
FRAME_IN = "in"  # a message arrived; ``data`` is the message
FRAME_OUT = "out"  # a message was written; ``data`` is the message
ERROR = "error"  # something went wrong; ``detail`` says what
NOTE = "note"  # anything else worth showing (queue flushed, heartbeat missed, ...)


class Event(NamedTuple):
    """One timestamped entry of a timeline. ``t`` is seconds on the client's clock.

    A named tuple rather than a frozen dataclass: just as immutable, and about
    three times cheaper to create, which matters at thousands of frames a second.
    """

    t: float
    kind: str
    state: ConnectionState | None = None
    attempt: int | None = None
    delay: float | None = None
    actual: float | None = None
    data: Any = None
    detail: str = ""

    def describe(self) -> str:
        """A one-line human reading of the event (the widgets' text fallback)."""
        if self.kind == STATE:
            text = f"state -> {self.state}"
        elif self.kind == BACKOFF:
            text = f"attempt {self.attempt} planned in {self.delay:.3f}s"
        elif self.kind == ATTEMPT:
            waited = "" if self.actual is None else f" after {self.actual:.3f}s"
            text = f"attempt {self.attempt} started{waited}"
        elif self.kind in (FRAME_IN, FRAME_OUT):
            arrow = "<-" if self.kind == FRAME_IN else "->"
            text = f"{arrow} {self.data!r}"
        else:
            text = self.kind
        return f"{text} {self.detail}".rstrip() if self.detail else text


Listener = Callable[[Event], None]
_new_event = tuple.__new__  # builds an Event from a full tuple, skipping NamedTuple's defaults

#: What the history holds for a frame recorded while nobody listened: ``(t, kind, data)``.
#: Readers always get it back as an :class:`Event`; the short form only saves the client
#: an allocation (and half the memory) per frame.
Entry = Event | tuple[float, str, Any]


def _event(entry: Entry) -> Event:
    """The :class:`Event` an entry of the history stands for."""
    if type(entry) is Event:
        return entry
    t, kind, data = entry
    return _new_event(Event, (t, kind, None, None, None, None, data, ""))


@dataclass
class Timeline:
    """A bounded, append-only history of events with listeners.

    Holds at most ``maxlen`` events (oldest dropped first), so a client that
    runs for hours keeps bounded memory; ``total`` still counts every event
    ever appended. Listeners are called synchronously, in the appending
    thread, and must be quick: widgets only mark themselves dirty here.
    """

    maxlen: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _events: deque[Entry] = field(init=False, repr=False)
    _listeners: list[Listener] = field(init=False, default_factory=list, repr=False)
    total: int = field(init=False, default=0)
    start: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._events = deque(maxlen=self.maxlen)
        self._calls: tuple[Listener, ...] = ()  # a snapshot of the listeners, for record()
        self.start = self.clock()

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    @property
    def events(self) -> list[Event]:
        return [_event(e) for e in list(self._events)]

    def of_kind(self, *kinds: str) -> list[Event]:
        return [_event(e) for e in self._events if e[1] in kinds]

    def states(self) -> list[ConnectionState]:
        """The sequence of states entered, in order (as far as the buffer reaches)."""
        return [state for e in self._events
                if e[1] == STATE and (state := _event(e).state) is not None]

    @property
    def listener_count(self) -> int:
        """How many listeners are attached (a closed widget must leave none behind)."""
        return len(self._listeners)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every future event; returns an unsubscribe function."""
        self._listeners.append(listener)
        self._calls = tuple(self._listeners)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
                self._calls = tuple(self._listeners)

        return unsubscribe

    def record(self, kind: str, **fields: Any) -> Event:
        """Append an event stamped with the timeline's clock and tell the listeners."""
        event = Event(self.clock(), kind, **fields)
        self._append(event)
        for listener in self._calls:
            listener(event)
        return event

    def frame(self, kind: str, data: Any) -> None:
        """``record(kind, data=data)`` for a frame in or out, without the keyword plumbing:
        the same event for every reader and listener, at a fraction of the cost (clients
        record thousands a second; while nobody listens, it is kept in its short form)."""
        calls = self._calls
        if calls:
            event = _new_event(Event, (self.clock(), kind, None, None, None, None, data, ""))
            self._append(event)
            for listener in calls:
                listener(event)
        else:
            self._append((self.clock(), kind, data))

    def _append(self, entry: Entry) -> None:
        lock = self._lock
        lock.acquire()
        try:
            self._events.append(entry)
            self.total += 1
        finally:
            lock.release()


class StateMachine:
    """Holds a client's current state, refuses illegal moves, records legal ones.

    ``on_change(state)`` (optional) is called after each recorded move: the owner learns of
    its own state changes without listening to every event of the timeline."""

    def __init__(self, timeline: Timeline, initial: ConnectionState = S.DISCONNECTED,
                 on_change: Callable[[ConnectionState], None] | None = None) -> None:
        self.timeline = timeline
        self._state = initial
        self.on_change = on_change

    @property
    def state(self) -> ConnectionState:
        return self._state

    def to(self, new: ConnectionState, detail: str = "") -> None:
        """Move to ``new`` (a no-op if already there), or raise :class:`IllegalTransition`."""
        if new == self._state:
            return
        check_transition(self._state, new)
        self._state = new
        self.timeline.record(STATE, state=new, detail=detail)
        if self.on_change is not None:
            self.on_change(new)
