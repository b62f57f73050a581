"""BackoffTimeline: reconnect attempts drawn as they happen, grouped by outage.

Live, it follows a client's timeline (state changes, BACKOFF and ATTEMPT events). An
*outage* starts when the link is lost (or the first connect fails) and ends when the
client is connected again or stops; its attempts sit in one row, time counted from
the outage's start, so five drops make five short rows rather than a growing list of
``#1 #1 #2 #1`` lines. The view keeps the last ``max_outages`` rows (older ones are
counted, not drawn): its height is bounded however long the notebook runs. Static,
:meth:`BackoffTimeline.compare` draws several delay sequences as lanes, for the
backoff lesson.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rtlab.state import ATTEMPT, BACKOFF, STATE, ConnectionState, Event

from . import svg
from .base import TimelineHTML

S = ConnectionState


@dataclass
class _Attempt:
    attempt: int
    scheduled: float  # seconds since the outage began, when the wait began
    planned: float | None = None
    actual: float | None = None
    started: float | None = None  # seconds since the outage began

    def mark(self) -> svg.AttemptMark:
        return svg.AttemptMark(self.attempt, self.scheduled, self.planned, self.actual)


@dataclass
class _Outage:
    number: int
    started: float  # seconds since the timeline's start
    attempts: deque[_Attempt]
    total: int = 0
    ended: float | None = None  # seconds since ``started``
    outcome: str = "ongoing"

    def mark(self) -> svg.OutageMark:
        return svg.OutageMark(self.number, self.started, tuple(a.mark() for a in self.attempts),
                              self.ended, self.outcome, self.total)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt(x: float | None) -> str:
    return "?" if x is None else f"{x:.3f}s"


class BackoffTimeline(TimelineHTML):
    """Reconnect attempts, one row per outage (the last ``max_outages``).

    The planned delay comes from BACKOFF/ATTEMPT events' ``delay``, the actual wait
    from ATTEMPT events' ``actual``: when they differ the loop was late or the wait
    was cut short, which is worth seeing. ``max_attempts`` bounds the attempts kept
    per outage (all are counted).
    """

    css_class = "rtlab-backofftimeline"

    def __init__(
        self,
        source: Any = None,
        *,
        max_outages: int = 6,
        max_attempts: int = 50,
        title: str | None = None,
        min_interval: float = 0.1,
    ) -> None:
        super().__init__(source, (STATE, BACKOFF, ATTEMPT), min_interval=min_interval)
        self.title = title
        self.max_attempts = max_attempts
        self._outages: deque[_Outage] = deque(maxlen=max(1, max_outages))
        self.outages_seen = 0
        self.attempts_seen = 0
        self._open: _Outage | None = None
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
    def outages(self) -> list[svg.OutageMark]:
        """The outages kept, oldest first, as drawn."""
        return [o.mark() for o in self._outages]

    @property
    def attempts(self) -> list[svg.AttemptMark]:
        """The attempts kept, oldest first, across the outages kept."""
        return [a.mark() for o in self._outages for a in o.attempts]

    def _rel(self, event: Event) -> float:
        return event.t - (self.timeline.start if self.timeline is not None else 0.0)

    def _begin(self, t: float) -> _Outage:
        self.outages_seen += 1
        outage = _Outage(self.outages_seen, t, deque(maxlen=max(1, self.max_attempts)))
        self._outages.append(outage)
        self._open = outage
        return outage

    def _end(self, t: float, outcome: str) -> None:
        if self._open is not None:
            self._open.ended = max(0.0, t - self._open.started)
            self._open.outcome = outcome
            self._open = None

    def _outage_for(self, attempt: int, t: float) -> _Outage:
        """The open outage, or a new one when none is open or the numbering restarted."""
        outage = self._open
        if outage is not None and outage.attempts and attempt <= outage.attempts[-1].attempt:
            last = outage.attempts[-1]
            self._end(outage.started + (last.started or last.scheduled), "recovered")
            outage = None
        return outage if outage is not None else self._begin(t)

    def _apply(self, item: Event) -> None:
        t = self._rel(item)
        if item.kind == STATE and item.state is not None:
            state = ConnectionState(item.state)
            if state in (S.RECONNECTING, S.ERROR) and self._open is None:
                self._begin(t)
            elif state is S.CONNECTED:
                self._end(t, "recovered")
            elif state is S.DISCONNECTED:
                self._end(t, "stopped")
        elif item.kind == BACKOFF:
            self.attempts_seen += 1
            outage = self._outage_for(item.attempt or 0, t)
            outage.total += 1
            outage.attempts.append(_Attempt(item.attempt or 0, t - outage.started, item.delay))
        elif item.kind == ATTEMPT:
            self._started(item, t)

    def _started(self, item: Event, t: float) -> None:
        outage = self._open
        last = outage.attempts[-1] if outage is not None and outage.attempts else None
        if last is not None and last.attempt == (item.attempt or 0) and last.started is None:
            record = last
        else:  # an attempt without a BACKOFF before it: infer when its wait began
            self.attempts_seen += 1
            waited = item.actual if item.actual is not None else (item.delay or 0.0)
            outage = self._outage_for(item.attempt or 0, t - waited)
            outage.total += 1
            record = _Attempt(item.attempt or 0, t - waited - outage.started, item.delay)
            outage.attempts.append(record)
        assert outage is not None
        record.started = t - outage.started
        if record.planned is None:
            record.planned = item.delay
        waited = record.started - record.scheduled
        record.actual = item.actual if item.actual is not None else waited

    def _html(self) -> str:
        if self._series is not None:
            drawing = svg.lanes(self._series, title=self.title)
            count = sum(len(v) for v in self._series.values())
        else:
            hidden = self.outages_seen - len(self._outages)
            drawing = svg.outages_chart(self.outages, hidden=hidden, title=self.title)
            count = self.attempts_seen
        return (
            f'<div class="rtlab-backofftimeline-body" data-attempts="{count}" '
            f'data-outages="{self.outages_seen}">{drawing}</div>'
        )

    def text(self) -> str:
        if self._series is not None:
            lines = ["backoff delays (compare):"]
            for name, delays in self._series.items():
                shown = ", ".join(f"{d:g}" for d in delays[:12])
                more = ", ..." if len(delays) > 12 else ""
                lines.append(f"  {name}: {shown}{more} (total {sum(delays):g}s)")
            return "\n".join(lines)
        head = (f"reconnects: {_count(self.outages_seen, 'outage')}, "
                f"{_count(self.attempts_seen, 'attempt')}")
        if self.outages_seen > len(self._outages):
            head += f" (showing the last {len(self._outages)} outages)"
        lines = [head]
        for o in self._outages:
            summary = svg.outage_summary(o.mark())
            lines.append(f"  outage {o.number} at +{o.started:.3f}s: {summary}")
            for a in o.attempts:
                line = f"    #{a.attempt}: planned {_fmt(a.planned)}"
                if a.started is not None:
                    line += f", waited {_fmt(a.actual)}"
                else:
                    line += ", waiting"
                lines.append(line)
        return "\n".join(lines)
