"""WireMeter: operations, requests, round trips and bytes each link really put on the wire.

One row per source (a link, a client, anything with ``.wire``, or a
:class:`~rtlab.graphql.wire.WireStats`), so "one by one" and "batched" can sit side by
side while they run. The meter follows each source's ``wire`` timeline (it never calls
the links) and reads the counters when it redraws, at most about ten times a second:
thousands of requests a second cost it ten renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rtlab.graphql.wire import WIRE, WireStats, stats_of

from .base import TimelineHTML
from .svg import esc

#: (counter, column title) in display order.
COLUMNS = (
    ("operations", "operations"),
    ("requests", "HTTP requests"),
    ("round_trips", "round trips"),
    ("from_cache", "from cache"),
    ("not_modified", "304"),
    ("connections", "connections"),
    ("bytes_up", "bytes ↑"),
    ("bytes_down", "bytes ↓"),
)
_TEXT_TITLES = {"bytes_up": "bytes up", "bytes_down": "bytes down"}


def human_bytes(n: int) -> str:
    """1234 -> '1.2 kB' (decimal units, as network tools count)."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} GB"


class WireMeter(TimelineHTML):
    """Counters per source, live. ``sources``: one source, or ``{label: source}``."""

    css_class = "rtlab-wire-meter"

    def __init__(self, sources: Any, *, title: str = "on the wire",
                 min_interval: float = 0.1) -> None:
        super().__init__(None, (), min_interval=min_interval)
        items = sources.items() if isinstance(sources, Mapping) else [(None, sources)]
        self.sources: list[tuple[str, WireStats]] = []
        for label, source in items:
            stats = stats_of(source)
            self.sources.append((str(label) if label is not None else stats.name, stats))
        self.title = title
        self.events = 0  # wire events seen (the redraw trigger)
        self._stops = [stats.timeline.subscribe(self._listener_wire)
                       for _, stats in self.sources]
        self._start()

    def _listener_wire(self, event: Any) -> None:
        if event.kind == WIRE:
            self._redraw.push(event)

    def _apply(self, item: Any) -> None:
        self.events += 1

    def table(self) -> list[tuple[str, dict[str, int]]]:
        """``(label, counters)`` per source, as shown."""
        return [(label, stats.snapshot()) for label, stats in self.sources]

    def _cell(self, name: str, value: int) -> str:
        return human_bytes(value) if name.startswith("bytes") else str(value)

    def _html(self) -> str:
        head = "".join(f'<th style="padding:1px 8px;text-align:right">{esc(t)}</th>'
                       for _, t in COLUMNS)
        body = []
        for label, counters in self.table():
            cells = "".join(
                f'<td class="rtlab-wire-{name}" data-value="{counters[name]}" '
                f'style="padding:1px 8px;text-align:right">{esc(self._cell(name, counters[name]))}'
                f"</td>" for name, _ in COLUMNS)
            body.append(f'<tr class="rtlab-wire-row" data-label="{esc(label)}">'
                        f'<td style="padding:1px 8px;font-weight:600">{esc(label)}</td>'
                        f"{cells}</tr>")
        return (
            f'<div class="rtlab-wire-meter-body" style="font:12px/1.4 ui-monospace,monospace">'
            f'<div style="font:600 12px system-ui,sans-serif;margin-bottom:2px">'
            f"{esc(self.title)}</div>"
            f'<table style="border-collapse:collapse;border:1px solid #ddd;font:inherit">'
            f'<tr style="background:#f4f4f4"><th></th>{head}</tr>{"".join(body)}</table></div>'
        )

    def text(self) -> str:
        lines = [self.title]
        for label, counters in self.table():
            parts = [f"{_TEXT_TITLES.get(name, title)} {self._cell(name, counters[name])}"
                     for name, title in COLUMNS]
            lines.append(f"  {label}: " + ", ".join(parts))
        return "\n".join(lines)

    def detach(self) -> None:
        stops, self._stops = getattr(self, "_stops", []), []
        for stop in stops:
            stop()
        super().detach()

    @property
    def following(self) -> bool:
        return bool(getattr(self, "_stops", []))


__all__ = ["WireMeter", "human_bytes"]
