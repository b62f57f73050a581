"""What every rtlab widget shares: a text fallback, and following a timeline.

A widget follows a *source*: a client (anything with a ``.timeline``) or an
``rtlab.state.Timeline`` itself. It subscribes a cheap listener that only
queues the event; a :class:`~rtlab.widgets.throttle.ThrottledRedraw` applies
queued events and redraws on the kernel's loop at about 10 Hz. Closing the
widget unsubscribes, so a closed widget costs the client nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets

from rtlab.state import Event, Timeline

from .throttle import ThrottledRedraw


def timeline_of(source: Any) -> Timeline | None:
    """The timeline a source stands for: the Timeline itself, ``source.timeline``, or None."""
    if source is None:
        return None
    if isinstance(source, Timeline):
        return source
    timeline = getattr(source, "timeline", None)
    if isinstance(timeline, Timeline):
        return timeline
    raise TypeError(
        f"expected a Timeline or an object with a .timeline attribute, got {type(source).__name__}"
    )


class TextFallback:
    """Mixin: ``text()`` plus a ``text/plain`` in the mimebundle, next to the widget view.

    Where no widget manager runs (nbval, GitHub, a terminal) the front end
    shows the plain text, so the output still says something true.
    """

    def text(self) -> str:  # pragma: no cover - every widget overrides it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}  # type: ignore[misc]
        bundle = dict(bundle)
        bundle["text/plain"] = self.text()
        return bundle


class TimelineHTML(TextFallback, widgets.HTML):
    """An HTML widget that follows a timeline's events of some kinds, throttled.

    Subclasses implement ``_apply(item)`` (update the model, cheap),
    ``_html()`` (the whole rendering) and ``text()``.
    """

    css_class = "rtlab-widget"

    def __init__(
        self,
        source: Any = None,
        kinds: Iterable[str] = (),
        *,
        min_interval: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.add_class(self.css_class)
        self.timeline: Timeline | None = timeline_of(source)
        self._kinds = frozenset(kinds)
        self._unsubscribe: Any = None
        self._redraw = ThrottledRedraw(self._render, self._apply, min_interval=min_interval)

    def _start(self) -> None:
        """Catch up with the events already recorded, subscribe, draw once."""
        if self.timeline is not None:
            for event in self.timeline.events:
                if event.kind in self._kinds:
                    self._apply(event)
            self._unsubscribe = self.timeline.subscribe(self._listener)
        self._redraw.flush_now()

    def _listener(self, event: Event) -> None:
        # Runs in the recording thread, maybe thousands of times a second: filter and queue.
        if event.kind in self._kinds:
            self._redraw.push(event)

    def _apply(self, item: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _html(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _render(self) -> None:
        html = self._html()
        if html != self.value:
            self.value = html

    @property
    def renders(self) -> int:
        """How many redraws so far (for tests and the benchmark)."""
        return self._redraw.renders

    @property
    def following(self) -> bool:
        """True while subscribed to a timeline."""
        return self._unsubscribe is not None

    def flush_now(self) -> None:
        """Draw everything received so far, now (on the loop's thread)."""
        self._redraw.flush_now()

    async def flushed(self) -> None:
        """Wait until the last received change has been drawn."""
        await self._redraw.flushed()

    def detach(self) -> None:
        """Stop following the timeline (keep the widget and what it shows)."""
        unsubscribe, self._unsubscribe = getattr(self, "_unsubscribe", None), None
        if unsubscribe is not None:
            unsubscribe()

    def close(self) -> None:
        """Detach from the timeline, stop redrawing and close the widget's comm."""
        self.detach()
        redraw = getattr(self, "_redraw", None)
        if redraw is not None:
            redraw.close()
        super().close()
