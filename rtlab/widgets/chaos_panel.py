"""ChaosPanel: buttons that break the demo server on purpose, so students watch clients recover.

It only calls the server handle (``rtlab.lab``): ``kill()``, ``restart()``,
``freeze()``, ``thaw()``, ``chaos.drop()``. A failure is shown in the panel's
status line, never raised: an exception inside a button callback would
vanish into the kernel log and the student would see nothing.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .base import TextFallback
from .messages import short
from .svg import esc

#: (name, button text, attribute path on the server handle, button style, tooltip)
ACTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("kill", "kill", "kill", "danger", "Stop the server process (SIGKILL)"),
    ("restart", "restart", "restart", "success", "Start the server again"),
    ("freeze", "freeze", "freeze", "warning", "Stop reading and writing without closing"),
    ("thaw", "thaw", "thaw", "info", "Resume a frozen server"),
    ("drop", "drop connections", "chaos.drop", "warning", "Close every open connection"),
)


def _resolve(obj: Any, path: str) -> Callable[[], Any]:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class ChaosPanel(TextFallback, widgets.HBox):
    """A row of buttons (kill, restart, freeze, thaw, drop connections) and a status line."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.buttons: dict[str, widgets.Button] = {}
        for name, text, _, style, tip in ACTIONS:
            button = widgets.Button(
                description=text,
                button_style=style,
                tooltip=tip,
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(lambda _b, name=name: self.press(name))
            self.buttons[name] = button
        self.status = widgets.HTML(value="")
        self.status.add_class("rtlab-chaospanel-status")
        super().__init__(
            children=[*self.buttons.values(), self.status],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.add_class("rtlab-chaospanel")
        self.last = ""
        self.history: list[tuple[str, str]] = []  # (action, outcome)
        self._tasks: set[asyncio.Future[Any]] = set()

    def press(self, name: str) -> None:
        """Run one action by name (what a click does); failures land in the status line."""
        path = {n: p for n, _, p, _, _ in ACTIONS}.get(name)
        if path is None:
            self._show(name, f"unknown action {name!r}", ok=False)
            return
        try:
            result = _resolve(self.server, path)()
        except Exception as exc:
            self._show(name, f"failed: {type(exc).__name__}: {exc}", ok=False)
            return
        if inspect.isawaitable(result):
            self._await(name, result)
        else:
            self._show(name, _done(result), ok=True)

    def _await(self, name: str, awaitable: Any) -> None:
        """The handle may be async: run it on the kernel's loop and report when it ends."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            try:
                result = asyncio.run(_as_coroutine(awaitable))
            except Exception as exc:
                self._show(name, f"failed: {type(exc).__name__}: {exc}", ok=False)
            else:
                self._show(name, _done(result), ok=True)
            return
        self._show(name, "running…", ok=True)
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)

        def finished(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                self._show(name, "cancelled", ok=False)
            elif t.exception() is not None:
                exc = t.exception()
                self._show(name, f"failed: {type(exc).__name__}: {exc}", ok=False)
            else:
                self._show(name, _done(t.result()), ok=True)

        task.add_done_callback(finished)

    def _show(self, name: str, outcome: str, *, ok: bool) -> None:
        self.last = f"{name}: {outcome}"
        self.history.append((name, outcome))
        color = "#2e7d32" if ok else "#c62828"
        self.status.value = (
            f'<span class="rtlab-chaospanel-outcome" data-ok="{str(ok).lower()}" '
            f'style="color:{color};font:12px system-ui,sans-serif;margin-left:.5em">'
            f"{esc(self.last)}</span>"
        )

    def text(self) -> str:
        buttons = " ".join(f"[{b.description}]" for b in self.buttons.values())
        return f"chaos: {buttons}" + (f"  last: {self.last}" if self.last else "")

    def close(self) -> None:
        """Close the buttons and the status line with the panel."""
        for child in list(getattr(self, "children", ())):
            child.close()
        super().close()


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable


def _done(result: Any) -> str:
    """Say "done", plus what the server answered when it answered something (a /_chaos dict)."""
    if result is None or not isinstance(result, dict | list | str | int | float):
        return "done"
    return f"done {short(result, 80)}"
