"""QueryView: one watched query's loading / data / error states, with a retry button.

It follows an :class:`rtlab.graphql.client.ObservableQuery`'s timeline (its ``result``
events), so it redraws when the query refetches, polls, fetches more, or when the
normalized cache changes something the query shows. The retry button is the one
thing it does to the query, and only when a person presses it: ``refetch()``, as the
chapter's ``ErrorWidget(onRetry: refetch)``. Unlike the chapter's builder it shows
data *and* errors when the error policy kept both (``all``): partial data is data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .base import TextFallback, TimelineHTML
from .svg import esc

RESULT = "result"  # the kind an ObservableQuery records (rtlab.graphql.client.RESULT)

_COLORS = {"loading": "#d9a400", "data": "#2e8540", "error": "#c0392b"}


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, default=str)


class _ResultBody(TimelineHTML):
    """The drawing part: header (state, source, result count) and the data or the error."""

    css_class = "rtlab-queryview-body"

    def __init__(self, query: Any, title: str, format: Callable[[Any], str] | None,
                 min_interval: float) -> None:
        super().__init__(query, (RESULT,), min_interval=min_interval)
        self.query = query
        self.title = title
        self._format = format or _pretty
        self.result = getattr(query, "result", None)
        self.count = 0
        self._start()

    def _apply(self, item: Any) -> None:
        self.result = item.data
        self.count += 1

    def _body(self) -> str:
        result = self.result
        if result is None or result.data is None:
            return ""
        try:
            return str(self._format(result.data))
        except Exception as exc:  # a bad formatter must not kill the redraw loop
            return f"<format failed: {type(exc).__name__}: {exc}>"

    def _state(self) -> tuple[str, str]:
        result = self.result
        if result is None:
            return "loading", ""
        return result.state, result.source

    def _html(self) -> str:
        state, source = self._state()
        color = _COLORS.get(state, "#666")
        error = self.result.error if self.result is not None else None
        head = (
            f'<div style="font:600 12px system-ui,sans-serif;margin-bottom:2px">'
            f'{esc(self.title)} <span class="rtlab-queryview-state" data-state="{state}" '
            f'style="color:#fff;background:{color};border-radius:999px;padding:0 .6em">'
            f'{state}</span> <span style="font-weight:400;color:#777">'
            f'{esc(f"from {source} · " if source else "")}{self.count} results</span></div>'
        )
        err = (
            f'<div class="rtlab-queryview-error" style="color:#c0392b;white-space:pre-wrap">'
            f"{esc(error)}</div>" if error else ""
        )
        body = self._body()
        data = (
            f'<pre class="rtlab-queryview-data" style="margin:0;max-height:18em;overflow:auto;'
            f"white-space:pre-wrap;overflow-wrap:break-word;border:1px solid #ddd;"
            f'border-radius:4px;padding:2px 4px;font:12px/1.35 '
            f'ui-monospace,monospace">{esc(body)}</pre>' if body else ""
        )
        loading = (
            '<div style="color:#999">loading…</div>' if state == "loading" else ""
        )
        return f'<div data-state="{state}">{head}{loading}{err}{data}</div>'

    def text(self) -> str:
        state, source = self._state()
        lines = [f"{self.title} [{state}]" + (f" from {source}" if source else "")]
        error = self.result.error if self.result is not None else None
        if error:
            lines.append(f"  error: {error}")
        body = self._body()
        if body:
            lines += [f"  {line}" for line in body.splitlines()[:30]]
        return "\n".join(lines)


class QueryView(TextFallback, widgets.VBox):
    """Shows an ObservableQuery's state and data; a Retry button appears on an error.

    ``format(data)`` turns the data into the text shown (default: indented JSON).
    """

    def __init__(self, query: Any, title: str | None = None, *,
                 format: Callable[[Any], str] | None = None, min_interval: float = 0.1) -> None:
        self.query = query
        self.body = _ResultBody(query, title or getattr(query, "name", "query"), format,
                                min_interval)
        self.retry = widgets.Button(description="Retry", icon="refresh",
                                    button_style="warning", layout=widgets.Layout(width="auto"))
        self.retry.add_class("rtlab-queryview-retry")
        self.retry.on_click(lambda _b: self.press_retry())
        self.retries = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        super().__init__(children=[self.body, self.retry])
        self.add_class("rtlab-queryview")
        self._unsubscribe = self.body.timeline.subscribe(lambda _e: self._sync_button()) \
            if self.body.timeline is not None else None
        self._sync_button()

    @property
    def state(self) -> str:
        return self.body._state()[0]

    def _sync_button(self) -> None:
        show = self.query.result.state == "error"
        self.retry.layout.display = None if show else "none"

    def press_retry(self) -> None:
        """What a click does: ``refetch()`` in a task; a failure shows as the query's error."""
        self.retries += 1
        task = asyncio.get_running_loop().create_task(self.query.refetch())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush_now(self) -> None:
        self.body.flush_now()
        self._sync_button()

    async def flushed(self) -> None:
        await self.body.flushed()

    def text(self) -> str:
        return self.body.text()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.body.close()
        self.retry.close()
        super().close()
