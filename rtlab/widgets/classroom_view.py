"""ClassroomView: the class live, from a classroom server's ``/_classroom/stats``.

It polls the instructor's handle (:meth:`rtlab.remote.RemoteServer.aclassroom_stats`) every
``interval`` seconds in a task on the kernel's loop and shows who is connected on which
protocol, the messages per second, and the last herd as a histogram of reconnect attempts
per 100 ms. It reads the server; it never changes anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ipywidgets as widgets

from .base import TextFallback
from .svg import esc, histogram

SHOWN_IDS = 12  # client ids listed per protocol; the rest are counted


class ClassroomView(TextFallback, widgets.HTML):
    """Who is connected (per protocol), messages per second, the last herd."""

    def __init__(self, teacher: Any, interval: float = 0.5) -> None:
        super().__init__(value="")
        self.add_class("rtlab-classroomview")
        self.teacher = teacher
        self.interval = interval
        self.stats: dict[str, Any] = {}
        self.error = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> ClassroomView:
        """Follow the server from now on (a task on the running loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._follow())
        return self

    async def refresh(self) -> dict[str, Any]:
        """Read the stats once and redraw."""
        try:
            self.stats, self.error = await self.teacher.aclassroom_stats(), ""
        except Exception as exc:  # noqa: BLE001 - shown in the view, never raised in a task
            self.error = str(exc)
        self.value = self._html()
        return self.stats

    async def _follow(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        super().close()

    async def aclose(self) -> None:
        task = self._task
        self.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- rendering ------------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, int, list[str]]]:
        out = []
        for name, entry in self.stats.get("protocols", {}).items():
            out.append((name, entry["connections"], list(entry["clients"])))
        return out

    def _html(self) -> str:
        if self.error:
            return f"<div class='rtlab-classroomview-error'>{esc(self.error)}</div>"
        lines = ["<table><tr><th>protocol</th><th>connections</th><th>clients</th></tr>"]
        for name, connections, clients in self.rows():
            shown = ", ".join(clients[:SHOWN_IDS]) + (
                f" … (+{len(clients) - SHOWN_IDS})" if len(clients) > SHOWN_IDS else "")
            lines.append(f"<tr><td>{esc(name)}</td><td>{connections}</td>"
                         f"<td>{len(clients)}: {esc(shown)}</td></tr>")
        lines.append("</table>")
        rate = self.stats.get("messages_per_second", {})
        lines.append(f"<div>messages per second: {rate.get('in', 0)} in, "
                     f"{rate.get('out', 0)} out</div>")
        herd = self.stats.get("herd")
        if herd and herd["attempts"]:
            lines.append(histogram(herd["attempts"], herd["bucket_ms"], title=(
                f"the class's reconnect attempts per {herd['bucket_ms']} ms after the "
                f"{herd['cause']}")))
        return "\n".join(lines)

    def text(self) -> str:
        if self.error:
            return f"classroom: {self.error}"
        parts = [f"{name}: {len(clients)} clients" for name, _n, clients in self.rows()]
        return "classroom: " + (", ".join(parts) or "nobody connected")
