"""Cursors: where each collaborator's caret is in a shared document, drawn live.

Follows a client's incoming ``cursor_move`` events (``{userId, user, position: {line,
column}}``, as the demo server's ``/collab`` sends them) and/or is fed with
:meth:`Cursors.move`. Each user gets a colour and a labelled caret on a small grid of
lines and columns; ``text()`` lists the same positions for where no widget runs.
"""

from __future__ import annotations

from typing import Any

from rtlab.state import FRAME_IN, Event

from .base import TimelineHTML
from .svg import SERIES_COLORS, esc


class Cursors(TimelineHTML):
    """One caret per remote user on a ``lines`` x ``columns`` grid (bigger positions clamp)."""

    css_class = "rtlab-cursors"

    def __init__(self, source: Any = None, *, lines: int = 12, columns: int = 40,
                 event: str = "cursor_move", title: str = "cursors",
                 min_interval: float = 0.1) -> None:
        super().__init__(source, (FRAME_IN,), min_interval=min_interval)
        self.lines, self.columns = lines, columns
        self.event, self.title = event, title
        self.positions: dict[str, tuple[int, int]] = {}
        self.moves = 0
        self._colors: dict[str, str] = {}
        self._start()

    def move(self, user: str, line: int, column: int) -> None:
        """Show ``user``'s caret at ``line``:``column`` (safe from any thread)."""
        self._redraw.push({"user": user, "position": {"line": line, "column": column}})

    def _apply(self, item: Event | dict[str, Any]) -> None:
        if isinstance(item, Event):
            frame = item.data
            if not isinstance(frame, dict) or frame.get("event") != self.event:
                return
            item = frame.get("data")
        if not isinstance(item, dict):
            return
        position = item.get("position")
        user = item.get("user") or item.get("userId")
        if not isinstance(position, dict) or user is None:
            return
        try:
            line, column = int(position["line"]), int(position["column"])
        except (KeyError, TypeError, ValueError):
            return
        user = str(user)
        self._colors.setdefault(user, SERIES_COLORS[len(self._colors) % len(SERIES_COLORS)])
        self.positions[user] = (line, column)
        self.moves += 1

    def _html(self) -> str:
        cw, lh, pad = 9, 16, 4
        width, height = self.columns * cw + 2 * pad, self.lines * lh + 2 * pad
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                 f'class="rtlab-cursors-doc" role="img"><title>{esc(self.title)}</title>'
                 f'<rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>']
        for n in range(self.lines):
            y = pad + n * lh + lh / 2
            parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y}" y2="{y}" '
                         f'stroke="#eee"/>')
        for user, (line, column) in sorted(self.positions.items()):
            x = pad + min(max(column, 0), self.columns - 1) * cw
            y = pad + min(max(line, 0), self.lines - 1) * lh
            color = self._colors[user]
            parts.append(
                f'<g class="cursor" data-user="{esc(user)}" data-line="{line}" '
                f'data-column="{column}"><rect x="{x}" y="{y}" width="2" height="{lh}" '
                f'fill="{color}"/><text x="{x + 4}" y="{y + 11}" font-size="10" '
                f'font-family="system-ui,sans-serif" fill="{color}">{esc(user)}</text></g>'
            )
        parts.append("</svg>")
        head = (f'<div style="font:600 12px system-ui,sans-serif">{esc(self.title)}: '
                f"{len(self.positions)} user(s), {self.moves} move(s)</div>")
        body = "".join(parts)
        return f'<div class="rtlab-cursors-body" data-moves="{self.moves}">{head}{body}</div>'

    def text(self) -> str:
        lines = [f"{self.title}: {len(self.positions)} user(s), {self.moves} move(s)"]
        for user, (line, column) in sorted(self.positions.items()):
            lines.append(f"  {user} at line {line}, column {column}")
        return "\n".join(lines)
