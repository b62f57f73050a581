"""MessageList: the last messages a client received, bounded and throttled.

A ticker can push thousands of messages a second. The list keeps only the
last ``maxlen`` (a deque), counts all of them, and redraws at most about
ten times a second, so the kernel keeps up and the browser is not flooded.
Newest at the bottom, like a chat or a log; the box starts scrolled there.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from rtlab.state import FRAME_IN, Event

from .base import TimelineHTML
from .svg import esc

_ARROWS = {"in": "←", "out": "→"}
_TEXT_ARROWS = {"in": "<-", "out": "->"}


def short(data: Any, limit: int = 160) -> str:
    """A one-line, bounded rendering of a message (str as is, JSON compact, else repr)."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, dict | list | tuple | int | float | bool) or data is None:
        try:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
        except (TypeError, ValueError):
            text = repr(data)
    else:
        text = repr(data)
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MessageList(TimelineHTML):
    """The last ``maxlen`` messages (newest at the bottom) and a count of all received.

    Follows ``source``'s frames of ``kinds`` (default: incoming), and/or is
    fed directly with :meth:`append` (from any thread). ``format`` turns a
    message into the line shown (default :func:`short`).
    """

    css_class = "rtlab-messagelist"

    def __init__(
        self,
        source: Any = None,
        maxlen: int = 200,
        kinds: Iterable[str] = (FRAME_IN,),
        format: Callable[[Any], str] | None = None,
        *,
        title: str = "messages",
        min_interval: float = 0.1,
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        kinds = tuple(kinds)
        super().__init__(source, kinds, min_interval=min_interval)
        self.maxlen = maxlen
        self.title = title
        self._format = format or short
        self._arrows = len(set(kinds)) > 1
        self._items: deque[tuple[int, str | None, Any]] = deque(maxlen=maxlen)
        self.count = 0
        self._start()

    @property
    def messages(self) -> list[Any]:
        """The messages kept (at most ``maxlen``), oldest first."""
        return [data for _, _, data in self._items]

    def append(self, msg: Any) -> None:
        """Add one message, as if received. Safe from any thread."""
        self._redraw.push((None, msg))

    def _apply(self, item: Event | tuple[str | None, Any]) -> None:
        if isinstance(item, Event):
            kind, data = item.kind, item.data
        else:
            kind, data = item
        self.count += 1
        self._items.append((self.count, kind, data))

    def _line(self, kind: str | None, data: Any) -> str:
        try:
            return str(self._format(data))
        except Exception as exc:  # a bad formatter must not kill the redraw loop
            return f"<format failed: {type(exc).__name__}: {exc}>"

    def _html(self) -> str:
        items = list(self._items)
        rows = []
        for seq, kind, data in items:
            arrow = f"{_ARROWS.get(kind or '', '·')} " if self._arrows else ""
            rows.append(
                f'<div class="rtlab-msg" data-seq="{seq}" style="padding:1px 4px;'
                f'border-bottom:1px solid #eee;white-space:pre-wrap;word-break:break-all">'
                f'<span style="color:#999">{seq}</span> {esc(arrow)}{esc(self._line(kind, data))}'
                f"</div>"
            )
        head = f"{esc(self.title)}: {self.count} received"
        if self.count > len(items):
            head += f", showing the last {len(items)}"
        # column-reverse keeps the scroll position pinned to the newest message.
        return (
            f'<div class="rtlab-messagelist-body" data-count="{self.count}" '
            f'data-shown="{len(items)}" style="font:12px/1.4 ui-monospace,monospace">'
            f'<div class="rtlab-messagelist-head" style="font:600 12px system-ui,sans-serif;'
            f'margin-bottom:2px">{head}</div>'
            f'<div style="display:flex;flex-direction:column-reverse;max-height:16em;'
            f'overflow-y:auto;border:1px solid #ddd;border-radius:4px">'
            f"<div>{''.join(rows)}</div></div></div>"
        )

    def text(self, limit: int = 20) -> str:
        """Header plus the last ``limit`` messages, newest last."""
        items = list(self._items)
        head = f"{self.title}: {self.count} received"
        if self.count > len(items):
            head += f", showing the last {len(items)}"
        lines = [head]
        if len(items) > limit:
            lines.append(f"  ... {len(items) - limit} more above")
            items = items[-limit:]
        for seq, kind, data in items:
            arrow = f"{_TEXT_ARROWS.get(kind or '', '.')} " if self._arrows else ""
            lines.append(f"  {seq}: {arrow}{self._line(kind, data)}")
        return "\n".join(lines)
