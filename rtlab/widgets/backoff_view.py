"""BackoffTimeline: each reconnect attempt drawn as it happens, planned wait against actual.

Live, it follows a client's timeline (BACKOFF and ATTEMPT events, plus
state changes as coloured bands). Static, :meth:`BackoffTimeline.compare`
draws several delay sequences as lanes, for the backoff lesson.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rtlab.state import ATTEMPT, BACKOFF, STATE, Event

from . import svg
from .base import TimelineHTML


@dataclass
class _Attempt:
    attempt: int
    scheduled: float  # seconds since the timeline's start when the wait began
    planned: float | None = None
    actual: float | None = None
    started: float | None = None

    def mark(self) -> svg.AttemptMark:
        return svg.AttemptMark(self.attempt, self.scheduled, self.planned, self.actual)


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.3f}s"


class BackoffTimeline(TimelineHTML):
    """An SVG of reconnect attempts on a time axis, one row per attempt (the last ``max_attempts``).

    The planned delay comes from BACKOFF/ATTEMPT events' ``delay``, the
    actual wait from ATTEMPT events' ``actual``: when they differ the loop
    was late or the wait was cut short, which is worth seeing.
    """

    css_class = "rtlab-backofftimeline"

    def __init__(
        self,
        source: Any = None,
        *,
        max_attempts: int = 50,
        title: str | None = None,
        min_interval: float = 0.1,
    ) -> None:
        super().__init__(source, (STATE, BACKOFF, ATTEMPT), min_interval=min_interval)
        self.title = title
        self._attempts: deque[_Attempt] = deque(maxlen=max_attempts)
        self._bands: deque[tuple[float, str]] = deque(maxlen=200)
        self.attempts_seen = 0
        self._t_end = 0.0
        self._series: dict[str, list[float]] | None = None
        self._start()

    @classmethod
    def compare(
        cls, series: Mapping[str, Sequence[float]], *, title: str | None = None
    ) -> BackoffTimeline:
        """A static view of several delay sequences as lanes (cumulative time, a dot per attempt).

        ``BackoffTimeline.compare({"chapter": chapter_delays(8), "full jitter": [...]})``
        """
        view = cls(None, title=title)
        view._series = {str(k): [float(d) for d in v] for k, v in series.items()}
        view.flush_now()
        return view

    @property
    def attempts(self) -> list[svg.AttemptMark]:
        """The attempts kept, oldest first, as drawn."""
        return [a.mark() for a in self._attempts]

    def _rel(self, event: Event) -> float:
        return event.t - (self.timeline.start if self.timeline is not None else 0.0)

    def _apply(self, item: Event) -> None:
        t = self._rel(item)
        self._t_end = max(self._t_end, t)
        if item.kind == STATE and item.state is not None:
            self._bands.append((t, str(item.state)))
        elif item.kind == BACKOFF:
            self.attempts_seen += 1
            self._attempts.append(_Attempt(item.attempt or 0, t, item.delay))
        elif item.kind == ATTEMPT:
            last = self._attempts[-1] if self._attempts else None
            if last is not None and last.attempt == (item.attempt or 0) and last.started is None:
                record = last
            else:  # an attempt without a BACKOFF before it: infer when its wait began
                self.attempts_seen += 1
                waited = item.actual if item.actual is not None else (item.delay or 0.0)
                record = _Attempt(item.attempt or 0, t - waited, item.delay)
                self._attempts.append(record)
            record.started = t
            if record.planned is None:
                record.planned = item.delay
            record.actual = item.actual if item.actual is not None else t - record.scheduled

    def _html(self) -> str:
        if self._series is not None:
            drawing = svg.lanes(self._series, title=self.title)
            count = sum(len(v) for v in self._series.values())
        else:
            marks = self.attempts
            t_start = 0.0
            if self.attempts_seen > len(marks) and marks:
                t_start = marks[0].scheduled
            drawing = svg.attempts_chart(
                marks, list(self._bands), t_end=self._t_end, t_start=t_start, title=self.title
            )
            count = self.attempts_seen
        return f'<div class="rtlab-backofftimeline-body" data-attempts="{count}">{drawing}</div>'

    def text(self) -> str:
        if self._series is not None:
            lines = ["backoff delays (compare):"]
            for name, delays in self._series.items():
                shown = ", ".join(f"{d:g}" for d in delays[:12])
                more = ", ..." if len(delays) > 12 else ""
                lines.append(f"  {name}: {shown}{more} (total {sum(delays):g}s)")
            return "\n".join(lines)
        lines = [f"reconnect attempts: {self.attempts_seen}"]
        if self.attempts_seen > len(self._attempts):
            lines[0] += f", showing the last {len(self._attempts)}"
        for a in self._attempts:
            line = f"  #{a.attempt}: planned {_fmt(a.planned)}"
            if a.started is not None:
                line += f", waited {_fmt(a.actual)}, started at +{a.started:.3f}s"
            else:
                line += f", waiting since +{a.scheduled:.3f}s"
            lines.append(line)
        if self._bands:
            lines.append(f"  state: {self._bands[-1][1]}")
        return "\n".join(lines)
