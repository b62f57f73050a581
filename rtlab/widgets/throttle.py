"""Redraw throttling: a pure decision core and the asyncio glue around it.

A timeline can deliver thousands of events a second; a widget that redrew on
each one would flood the browser with comm messages and stall the kernel.
``Throttle`` decides *when* a redraw is due (at most one per ``min_interval``,
and always one more after the last change, so the final state is shown).
It owns no clock and no timer, so tests drive it with exact numbers.

``ThrottledRedraw`` is the glue: it takes changes from any thread, applies
them and redraws on the kernel's asyncio loop only (the one thread allowed
to touch widget traits), handing over with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

#: Timing slack: a flush that fires this close to its due time counts as due
#: (float sums like 0.2 + 0.1 - 0.3 are not exactly zero).
_EPSILON = 1e-9


class Throttle:
    """Decides when a redraw is due: at most one per ``min_interval``, trailing one guaranteed.

    Protocol: call :meth:`mark` on every change; when it returns a delay,
    schedule one call of :meth:`flush` after that delay. :meth:`flush` either
    draws (and returns ``None``) or returns the delay after which to call it
    again. At most one flush is ever scheduled (``pending``).
    """

    def __init__(
        self, min_interval: float = 0.1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        self.min_interval = float(min_interval)
        self.clock = clock
        self.dirty = False  # something changed since the last redraw
        self.pending = False  # a flush is scheduled
        self.last: float | None = None  # clock time of the last redraw
        self.redraws = 0

    def wait(self) -> float:
        """Seconds until a redraw may happen (0.0 when it may happen now)."""
        if self.last is None:
            return 0.0
        remaining = self.last + self.min_interval - self.clock()
        return remaining if remaining > _EPSILON else 0.0

    def mark(self) -> float | None:
        """Note a change. Returns the delay for a new flush, or ``None`` if one is scheduled."""
        self.dirty = True
        if self.pending:
            return None
        self.pending = True
        return self.wait()

    def flush(self, draw: Callable[[], Any]) -> float | None:
        """A scheduled flush came due: redraw if due, else return the delay to reschedule."""
        if not self.dirty:
            self.pending = False
            return None
        remaining = self.wait()
        if remaining > 0:
            return remaining
        self.pending = False
        self.draw_now(draw)
        return None

    def draw_now(self, draw: Callable[[], Any]) -> None:
        """Redraw unconditionally (first render, explicit flush, no loop) and count it."""
        self.dirty = False
        self.last = self.clock()
        self.redraws += 1
        draw()

    def reset(self) -> None:
        """Forget any scheduled flush (the owner cancelled its timer)."""
        self.dirty = False
        self.pending = False


_NOTHING: Any = object()


class ThrottledRedraw:
    """Applies changes and redraws on one asyncio loop, throttled.

    ``apply(item)`` updates the widget's model (cheap: a deque append);
    ``render()`` turns the model into trait values. Both run on the loop's
    thread only. :meth:`push` may be called from any thread. Without a
    running loop (a plain script, a synchronous test) every push redraws
    synchronously, under a lock.
    """

    def __init__(
        self,
        render: Callable[[], Any],
        apply: Callable[[Any], Any] | None = None,
        *,
        min_interval: float = 0.1,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._render = render
        self._apply = apply if apply is not None else (lambda item: None)
        self.throttle = Throttle(min_interval, clock)
        if loop is None:
            # In a kernel cell this is the kernel's loop; elsewhere maybe none.
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        self.loop = loop
        self._lock = threading.RLock()
        self._inbox: list[Any] = []
        self._handover = False  # a _drain is queued on the loop
        self._handle: asyncio.TimerHandle | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self.closed = False

    @property
    def renders(self) -> int:
        """How many times ``render`` has run (all paths)."""
        return self.throttle.redraws

    def _live_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return None
        return loop

    def push(self, item: Any = _NOTHING) -> None:
        """Apply ``item`` (if given) and mark dirty. Safe from any thread."""
        if self.closed:
            return
        loop = self._live_loop()
        if loop is None:
            self._sync(item)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            if item is not _NOTHING:
                self._apply(item)
            self._mark(loop)
            return
        # Another thread: queue the item, wake the loop once per batch.
        with self._lock:
            if item is not _NOTHING:
                self._inbox.append(item)
            if self._handover:
                return
            self._handover = True
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop closed between the check and the call
            self._drain(sync=True)

    def _sync(self, item: Any) -> None:
        with self._lock:
            if item is not _NOTHING:
                self._apply(item)
            self.throttle.draw_now(self._render)

    def _take_inbox(self) -> list[Any]:
        with self._lock:
            items, self._inbox = self._inbox, []
            self._handover = False
        return items

    def _drain(self, sync: bool = False) -> None:
        if self.closed:
            self._take_inbox()
            self._resolve_waiters()
            return
        items = self._take_inbox()
        for item in items:
            self._apply(item)
        loop = None if sync else self._live_loop()
        if loop is None:
            with self._lock:
                self.throttle.draw_now(self._render)
        else:
            self._mark(loop)

    def _mark(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = self.throttle.mark()
        if delay is not None:
            self._handle = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        self._handle = None
        if self.closed:
            return
        try:
            delay = self.throttle.flush(self._render)
        except BaseException:
            self.throttle.reset()
            self._resolve_waiters()
            raise
        if delay is not None and self.loop is not None:
            self._handle = self.loop.call_later(delay, self._flush)
        else:
            self._resolve_waiters()

    def flush_now(self) -> None:
        """Apply anything queued and redraw at once. Call on the loop's thread."""
        for item in self._take_inbox():
            self._apply(item)
        with self._lock:
            self.throttle.draw_now(self._render)
        self._resolve_waiters()

    def busy(self) -> bool:
        """True while a change has not reached the screen yet."""
        return not self.closed and (self._handover or self.throttle.pending or bool(self._inbox))

    async def flushed(self) -> None:
        """Wait until every change pushed so far has been drawn (no guessed sleeps)."""
        if self._live_loop() is None:
            return
        while self.busy():
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            await future

    def _resolve_waiters(self) -> None:
        if self.busy():
            return
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        """Stop: cancel the scheduled flush, ignore later pushes, release waiters."""
        self.closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.throttle.reset()
        with self._lock:
            self._inbox = []
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            _release(future)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _release(future: asyncio.Future[None]) -> None:
    """Resolve a waiter from whichever thread we are on."""
    loop = future.get_loop()
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _set_done(future)
    else:
        loop.call_soon_threadsafe(_set_done, future)
