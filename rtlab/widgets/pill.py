"""StatusPill: a client's ConnectionState at a glance, kept live from its timeline."""

from __future__ import annotations

from typing import Any

from rtlab.state import ATTEMPT, BACKOFF, STATE, ConnectionState, Event

from .base import TimelineHTML, timeline_of
from .svg import STATE_COLORS, esc

_TEXT_COLORS = {"connecting": "#222", "reconnecting": "#222"}


class StatusPill(TimelineHTML):
    """A coloured pill: grey disconnected, amber (re)connecting, green connected, red error.

    While (re)connecting it also shows the attempt number, so a student can
    watch backoff happen without reading a log. ``label`` is extra text
    (the transport, the URL, ...).
    """

    css_class = "rtlab-statuspill"

    def __init__(self, source: Any, label: str = "", *, min_interval: float = 0.1) -> None:
        super().__init__(source, (STATE, BACKOFF, ATTEMPT), min_interval=min_interval)
        self._label = str(label)
        self._state = _initial_state(source)
        self._attempt: int | None = None
        self._detail = ""
        self._start()

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
            self._state = ConnectionState(item.state)
            self._detail = item.detail
            if self._state in (ConnectionState.CONNECTED, ConnectionState.DISCONNECTED):
                self._attempt = None
        elif item.kind in (BACKOFF, ATTEMPT) and item.attempt is not None:
            self._attempt = item.attempt

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
        return (
            f'<span class="rtlab-pill" data-state="{state}"{title} style="display:inline-flex;'
            f"align-items:center;gap:.45em;padding:.1em .75em;border-radius:999px;"
            f"background:{bg};color:{fg};font:600 12px/1.7 system-ui,sans-serif;"
            f'white-space:nowrap"><span aria-hidden="true">●</span>'
            f'<span class="rtlab-pill-state">{state}{esc(extra)}</span>{label}</span>'
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
        return out


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
