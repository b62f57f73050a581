"""FrameLog: what went over the wire, in and out, with times relative to the timeline's start."""

from __future__ import annotations

from collections import deque
from typing import Any

from rtlab.state import FRAME_IN, FRAME_OUT, Event

from .base import TimelineHTML
from .messages import short
from .svg import esc

_ARROWS = {FRAME_IN: ("←", "<-", "#2e6da4"), FRAME_OUT: ("→", "->", "#b35c1e")}


class FrameLog(TimelineHTML):
    """A table of the last ``maxlen`` frames: time, arrow, short data; newest at the bottom.

    Seeing the ``->`` of a subscribe next to the ``<-`` of its first result
    is how a student learns what a protocol actually sends.
    """

    css_class = "rtlab-framelog"

    def __init__(self, source: Any, maxlen: int = 100, *, min_interval: float = 0.1) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        super().__init__(source, (FRAME_IN, FRAME_OUT), min_interval=min_interval)
        if self.timeline is None:
            raise TypeError("FrameLog needs a source with a timeline")
        self.maxlen = maxlen
        self._rows: deque[tuple[int, float, str, Any]] = deque(maxlen=maxlen)
        self.count = 0
        self._start()

    @property
    def frames(self) -> list[tuple[float, str, Any]]:
        """The frames kept as ``(seconds since start, kind, data)``, oldest first."""
        return [(t, kind, data) for _, t, kind, data in self._rows]

    def _apply(self, item: Event) -> None:
        start = self.timeline.start if self.timeline is not None else 0.0
        self.count += 1
        self._rows.append((self.count, item.t - start, item.kind, item.data))

    def _html(self) -> str:
        rows = []
        for seq, t, kind, data in self._rows:
            arrow, _, color = _ARROWS.get(kind, ("·", ".", "#666"))
            rows.append(
                f'<tr class="rtlab-frame" data-seq="{seq}" data-kind="{esc(kind)}">'
                f'<td style="color:#888;text-align:right;padding:0 6px;width:1%;'
                f'white-space:nowrap">+{t:.3f}s</td>'
                f'<td style="color:{color};font-weight:700;padding:0 4px;width:1%">{arrow}</td>'
                f'<td style="padding:0 4px;word-break:break-all">{esc(short(data, 200))}</td></tr>'
            )
        head = f"frames: {self.count}"
        if self.count > len(self._rows):
            head += f", showing the last {len(self._rows)}"
        return (
            f'<div class="rtlab-framelog-body" data-count="{self.count}" '
            f'style="font:12px/1.4 ui-monospace,monospace">'
            f'<div style="font:600 12px system-ui,sans-serif;margin-bottom:2px">{head}</div>'
            f'<div style="display:flex;flex-direction:column-reverse;max-height:16em;'
            f'overflow-y:auto;border:1px solid #ddd;border-radius:4px">'
            f'<table style="border-collapse:collapse;width:100%;font:inherit">'
            f"{''.join(rows)}</table>"
            f"</div></div>"
        )

    def text(self, limit: int = 20) -> str:
        """Header plus the last ``limit`` frames, newest last."""
        rows = list(self._rows)
        head = f"frames: {self.count}"
        if self.count > len(rows):
            head += f", showing the last {len(rows)}"
        lines = [head]
        if len(rows) > limit:
            lines.append(f"  ... {len(rows) - limit} more above")
            rows = rows[-limit:]
        for _, t, kind, data in rows:
            _, arrow, _ = _ARROWS.get(kind, ("·", ".", "#666"))
            stamp = f"+{t:.3f}s"
            lines.append(f"  {stamp:>10} {arrow} {short(data, 200)}")
        return "\n".join(lines)
