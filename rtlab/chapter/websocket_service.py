"""The chapter's ``WebSocketService`` (section 21.3), ported to Python with its mistakes kept.

Pitfalls sections run this next to :class:`rtlab.ws.ReconnectingWebSocket`
so students can watch each mistake happen on a real socket. It mirrors the
Dart service's *behaviour*, not its text:

1. ``connect()`` starts the handshake in the background (as
   ``IOWebSocketChannel.connect`` does) and declares ``connected`` at once.
   A refused handshake therefore shows ``connected`` first, and the queue is
   "flushed" into a socket that never opens: those messages are lost.
2. Because the attempt counter is reset on that premature ``connected``,
   every failure is "attempt 1": the delay never grows and
   ``max_reconnect_attempts`` is never reached.
3. The delay is ``interval * 2**(attempt-1)`` clamped to [1 s, 60 s]: with the
   default 5 s interval that is 5, 10, 20 ... not the "1s, 2s, 4s" its comment
   promises (see :func:`rtlab.backoff.chapter_delays`). ``min_delay`` is a
   parameter here only so a notebook need not wait a whole second.
4. Reconnects call ``connect()`` without the headers: the auth token is gone.
5. ``disconnect()`` does not cancel a scheduled reconnect, so a "disconnected"
   service connects again by itself.
6. Heartbeats go through ``send()``: while offline they pile up in the queue,
   which has no bound; and nothing ever checks that a pong came back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from rtlab.state import ERROR, FRAME_IN, FRAME_OUT, NOTE, STATE, ConnectionState, Timeline

S = ConnectionState


class ChapterWebSocketService:
    """A faithful port of the chapter's service, bugs included (see the module docs)."""

    def __init__(
        self,
        url: str,
        *,
        reconnect_interval: float = 5.0,
        heartbeat_interval: float = 30.0,
        max_reconnect_attempts: int = 10,
        min_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        self.url = url
        self.reconnect_interval = reconnect_interval
        self.heartbeat_interval = heartbeat_interval
        self.max_reconnect_attempts = max_reconnect_attempts
        self.min_delay, self.max_delay = min_delay, max_delay
        self.timeline = Timeline()
        self.state = S.DISCONNECTED
        self.reconnect_attempts = 0
        self.should_reconnect = True
        self.queue: list[str] = []
        self.lost: list[str] = []  # written into a socket that never opened
        self.messages: list[Any] = []
        self._ws: ClientConnection | None = None
        self._pending_writes: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect: asyncio.TimerHandle | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # The state is set without any table: any move is allowed, as in the Dart code.
    def _set(self, state: ConnectionState, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.timeline.record(STATE, state=state, detail=detail)

    @property
    def is_connected(self) -> bool:
        return self.state is S.CONNECTED

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def connect(self, headers: Mapping[str, str] | None = None) -> None:
        if self.state in (S.CONNECTING, S.CONNECTED):
            return
        self._set(S.CONNECTING)
        self.timeline.record(NOTE, data=dict(headers or {}), detail=f"connect(headers={headers})")
        self._spawn(self._open(headers))  # the handshake runs later...
        self._set(S.CONNECTED)  # ...but the state says connected now
        self.reconnect_attempts = 0
        self._flush_queue()
        self._start_heartbeat()

    async def _open(self, headers: Mapping[str, str] | None) -> None:
        try:
            self._ws = await connect(self.url, additional_headers=headers, proxy=None)
        except Exception as exc:  # noqa: BLE001 - the Dart stream reports it as onError
            self.lost.extend(self._pending_writes)
            self._pending_writes.clear()
            self._on_error(exc)
            self._on_done()
            return
        for text in self._pending_writes:
            await self._ws.send(text)
        self._pending_writes.clear()
        try:
            async for raw in self._ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = raw
                self.messages.append(message)
                self.timeline.record(FRAME_IN, data=message)
        except ConnectionClosed:
            pass
        self._on_done()

    def _write(self, text: str) -> None:
        # Like a Dart sink: accepted at once, written when (if) the socket opens.
        if self._ws is None:
            self._pending_writes.append(text)
        else:
            self._spawn(self._ws.send(text))
        self.timeline.record(FRAME_OUT, data=text)

    def send(self, message: Any) -> None:
        encoded = json.dumps(message)
        if self.is_connected:
            self._write(encoded)
        else:
            self.queue.append(encoded)
            self.timeline.record(NOTE, data=encoded, detail="queued (offline)")

    def _on_error(self, exc: BaseException) -> None:
        self.timeline.record(ERROR, detail=repr(exc))
        self._set(S.ERROR)

    def _on_done(self) -> None:
        self._cleanup()
        if self.should_reconnect:
            self._schedule_reconnect()
        else:
            self._set(S.DISCONNECTED)

    def delay_for(self, attempt: int) -> float:
        raw = self.reconnect_interval * (1 << (attempt - 1))
        return min(self.max_delay, max(self.min_delay, raw))

    def _schedule_reconnect(self) -> None:
        if self.reconnect_attempts >= self.max_reconnect_attempts:
            self._set(S.DISCONNECTED, "max attempts reached")
            return
        self.reconnect_attempts += 1
        self._set(S.RECONNECTING)
        delay = self.delay_for(self.reconnect_attempts)
        self.timeline.record("backoff", attempt=self.reconnect_attempts, delay=delay)
        if self._reconnect is not None:
            self._reconnect.cancel()
        loop = asyncio.get_running_loop()
        # Reconnects pass no headers: whatever token connect() was given is gone.
        self._reconnect = loop.call_later(delay, lambda: self._spawn(self.connect()))

    def _flush_queue(self) -> None:
        while self.queue and self.is_connected:
            self._write(self.queue.pop(0))

    def _start_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_interval)
                # Through send(): queued when offline, and no one waits for a pong.
                self.send({"type": "ping"})

        self._heartbeat = asyncio.get_running_loop().create_task(beat())

    def _cleanup(self) -> None:
        self._ws = None

    async def disconnect(self) -> None:
        self.should_reconnect = False
        ws, self._ws = self._ws, None
        self._set(S.DISCONNECTED)
        # Like the Dart code: the socket is not closed and the reconnect timer
        # is not cancelled. We only note it; dispose() below cleans up for real.
        self.timeline.record(NOTE, detail="disconnect(): reconnect timer left running")
        self._orphan = ws

    async def dispose(self) -> None:
        """Really stop everything (the notebook's tidy-up, not part of the chapter's bugs)."""
        self.should_reconnect = False
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in (self._ws, getattr(self, "_orphan", None)):
            if ws is not None:
                await ws.close()
