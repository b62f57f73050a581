"""StatusPill: a client's ConnectionState at a glance, kept live from its timeline.

A reconnect after a dropped link can take less than half a second: the pill is amber
for a moment a student easily misses (and a throttled redraw may skip it entirely).
So the pill keeps a short history of the states it left, with how long each lasted,
next to the current one: "connected · before: reconnecting 0.31s, connected 4.2s".
A client that was closed on purpose says so ("disconnected · closed by the client"):
finished, not broken.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rtlab.state import ATTEMPT, BACKOFF, STATE, ConnectionState, Event

from .base import TimelineHTML, timeline_of
from .svg import STATE_COLORS, esc

_TEXT_COLORS = {"connecting": "#222", "reconnecting": "#222"}


class StatusPill(TimelineHTML):
    """A coloured pill: grey disconnected, amber (re)connecting, green connected, red error.

    While (re)connecting it also shows the attempt number, so a student can
    watch backoff happen without reading a log. ``label`` is extra text
    (the transport, the URL, ...). ``history`` is how many of the states it left it
    keeps on show (newest first), with their durations; the first connect (its
    ``disconnected`` and ``connecting``) is not history worth showing.
    """

    css_class = "rtlab-statuspill"

    def __init__(self, source: Any, label: str = "", *, history: int = 3,
                 min_interval: float = 0.1) -> None:
        super().__init__(source, (STATE, BACKOFF, ATTEMPT), min_interval=min_interval)
        self._label = str(label)
        self._state = _initial_state(source)
        self._attempt: int | None = None
        self._detail = ""
        self._since: float | None = None  # when the state shown began (timeline clock)
        self._been_connected = False
        self._history: deque[tuple[ConnectionState, float]] = deque(maxlen=max(0, history))
        self._start()

    @property
    def history(self) -> list[tuple[str, float]]:
        """The states left most recently, newest first: ``(state, seconds it lasted)``."""
        return [(state.value, seconds) for state, seconds in reversed(self._history)]

    @property
    def state(self) -> ConnectionState:
        """The state currently shown (once drawn)."""
        return self._state

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        self._label = str(value)
        self._redraw.push()

    def _apply(self, item: Event) -> None:
        if item.kind == STATE and item.state is not None:
            new = ConnectionState(item.state)
            if self._since is not None and new != self._state:
                self._remember(self._state, item.t - self._since)
            self._since = item.t
            self._state = new
            self._detail = item.detail
            if new is ConnectionState.CONNECTED:
                self._been_connected = True
            if self._state in (ConnectionState.CONNECTED, ConnectionState.DISCONNECTED):
                self._attempt = None
        elif item.kind in (BACKOFF, ATTEMPT) and item.attempt is not None:
            self._attempt = item.attempt

    def _remember(self, state: ConnectionState, seconds: float) -> None:
        first_connect = (ConnectionState.DISCONNECTED, ConnectionState.CONNECTING)
        if not self._been_connected and state in first_connect:
            return
        self._history.append((state, max(0.0, seconds)))

    def _closed_detail(self) -> str:
        """Why a disconnected client stopped (``closed by the client``, ...), if it said."""
        if self._state is ConnectionState.DISCONNECTED and self._detail:
            return self._detail
        return ""

    def _history_html(self) -> str:
        if not self._history:
            return ""
        chips = []
        for state, seconds in reversed(self._history):
            color = STATE_COLORS[state.value]
            chips.append(
                f'<span class="rtlab-pill-past" data-state="{state.value}" '
                f'data-seconds="{seconds:.3f}"><span style="color:{color}">●</span> '
                f"{state.value} {_dur(seconds)}</span>"
            )
        return (
            '<span class="rtlab-pill-history" style="margin-left:.6em;color:#666;'
            'font:11px/1.7 system-ui,sans-serif;white-space:nowrap">before: '
            + ", ".join(chips) + "</span>"
        )

    def _attempt_shown(self) -> int | None:
        busy = (ConnectionState.CONNECTING, ConnectionState.RECONNECTING, ConnectionState.ERROR)
        return self._attempt if self._state in busy else None

    def _html(self) -> str:
        state = self._state.value
        bg = STATE_COLORS[state]
        fg = _TEXT_COLORS.get(state, "#fff")
        attempt = self._attempt_shown()
        extra = f" · attempt {attempt}" if attempt is not None else ""
        label = (
            f'<span class="rtlab-pill-label" style="font-weight:400;opacity:.85">'
            f"{esc(self._label)}</span>"
            if self._label
            else ""
        )
        title = f' title="{esc(self._detail)}"' if self._detail else ""
        closed = self._closed_detail()
        why = (
            f'<span class="rtlab-pill-why" style="font-weight:400;opacity:.85">'
            f"{esc(closed[:48])}</span>" if closed else ""
        )
        return (
            f'<span class="rtlab-pill-row" style="white-space:nowrap">'
            f'<span class="rtlab-pill" data-state="{state}"{title} style="display:inline-flex;'
            f"align-items:center;gap:.45em;padding:.1em .75em;border-radius:999px;"
            f"background:{bg};color:{fg};font:600 12px/1.7 system-ui,sans-serif;"
            f'white-space:nowrap"><span aria-hidden="true">●</span>'
            f'<span class="rtlab-pill-state">{state}{esc(extra)}</span>{why}{label}</span>'
            f"{self._history_html()}</span>"
        )

    def text(self) -> str:
        attempt = self._attempt_shown()
        out = f"[{self._state.value}]"
        if attempt is not None:
            out += f" attempt {attempt}"
        if self._label:
            out += f" {self._label}"
        if self._detail and self._state == ConnectionState.ERROR:
            out += f" ({self._detail})"
        if self._closed_detail():
            out += f" ({self._closed_detail()})"
        if self._history:
            past = ", ".join(f"{s.value} {_dur(t)}" for s, t in reversed(self._history))
            out += f" | before: {past}"
        return out


def _dur(seconds: float) -> str:
    """``0.31s``, ``4.2s``, ``73s``: enough digits to see a sub-second moment."""
    if seconds < 10:
        return f"{seconds:.2f}s" if seconds < 1 else f"{seconds:.1f}s"
    return f"{seconds:.0f}s"


def _initial_state(source: Any) -> ConnectionState:
    """Where to start: the client's own ``.state``, else the last state on the timeline."""
    state = getattr(source, "state", None)
    if isinstance(state, ConnectionState):
        return state
    timeline = timeline_of(source)
    if timeline is not None:
        states = timeline.states()
        if states:
            return ConnectionState(states[-1])
    return ConnectionState.DISCONNECTED
