"""The chapter's ``WebSocketService`` (section 21.3, seed lines 882-1085), mistakes kept.

Notebook 04's Pitfalls run this next to :class:`rtlab.ws.ReconnectingWebSocket` so
students watch each mistake happen on a real socket. It mirrors the Dart service's
*behaviour*, not its text. What it gets right is ported too: ``connect`` passes
``pingInterval: heartbeatInterval`` to ``IOWebSocketChannel.connect`` (l.936), so
dart:io pings and, when no pong comes within another interval, closes the socket
(code 1001); the custom heartbeat sends only ``if (isConnected)`` (l.1045) and its
timer is cancelled in ``_cleanupConnection`` (l.1064). The mistakes, each with the
line it comes from:

1. ``_updateState(ConnectionState.connected)`` right after
   ``IOWebSocketChannel.connect(...)`` (l.947), which returns at once and shakes hands
   later. A refused handshake shows ``connected`` first, and the queue is "flushed" into
   a sink that never opens: those messages are lost (``lost``).
2. ``_reconnectAttempts = 0`` on that premature ``connected`` (l.948): every failure is
   "attempt 1", the delay never grows and ``maxReconnectAttempts`` is never reached.
3. ``reconnectInterval.inMilliseconds * (1 << (_reconnectAttempts - 1))`` clamped to
   [1 s, 60 s] (l.1020-1023): with the default 5 s interval that is 5, 10, 20 ... not
   the "1s, 2s, 4s" its comment promises (l.1019; :func:`rtlab.backoff.chapter_delays`).
   ``min_delay`` is a parameter here only so a notebook need not wait a whole second.
4. ``if (!_isDisposed) connect();`` (l.1029): reconnects pass no headers, so the auth
   token given to the first ``connect(headers: ...)`` is gone.
5. ``disconnect()`` (l.1070-1075) sets ``_shouldReconnect = false`` but leaves the
   reconnect timer running, and the timer checks only ``_isDisposed``: a
   "disconnected" service connects again by itself. It also never calls
   ``sink.close()``: no close frame, the server is not told.
6. A half-open link is noticed only after up to 2 x ``heartbeatInterval`` (dart:io's
   ping, then a wait as long for the pong: 60 s with the default 30 s), and whatever
   ``send()`` wrote meanwhile went into a dead socket as "connected" (l.969-970): never
   queued, never re-sent after the reconnect. The queue itself (l.901, l.973) has no bound.

The port uses websockets' keepalive for dart:io's ping (``ping_interval`` and
``ping_timeout`` both ``heartbeat_interval``, no close handshake wait, as dart:io
closes without one); websockets closes with 1011 where dart:io uses 1001.
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
OPENED = "socket opened"  # NOTE detail recorded when the handshake really finished


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
        self.is_disposed = False
        self.queue: list[str] = []
        self.lost: list[str] = []  # written into a socket that never opened
        self.messages: list[Any] = []
        self.sockets_opened = 0
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending_writes: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect: asyncio.TimerHandle | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._orphans: list[ClientConnection] = []

    # The state is set without any table: any move is allowed, as in the Dart code.
    def _set(self, state: ConnectionState, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.timeline.record(STATE, state=state, detail=detail)

    @property
    def is_connected(self) -> bool:
        return self.state is S.CONNECTED

    @property
    def socket_open(self) -> bool:
        """Whether a handshake really finished (the Dart code cannot tell)."""
        return self._ws is not None

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def connect(self, headers: Mapping[str, str] | None = None) -> None:
        if self.is_disposed:
            raise RuntimeError("Service is disposed")  # StateError in Dart
        if self.state in (S.CONNECTING, S.CONNECTED):
            return
        self._set(S.CONNECTING)
        self.timeline.record(NOTE, data=dict(headers or {}), detail=f"connect(headers={headers})")
        self._reader = self._spawn(self._open(headers))  # the handshake runs later...
        self._set(S.CONNECTED)  # ...but the state says connected now (mistake 1)
        self.reconnect_attempts = 0  # (mistake 2)
        self._flush_queue()
        self._start_heartbeat()

    async def _open(self, headers: Mapping[str, str] | None) -> None:
        try:
            # IOWebSocketChannel.connect(url, headers:, pingInterval: heartbeatInterval)
            ws = await connect(
                self.url, additional_headers=headers, proxy=None,
                ping_interval=self.heartbeat_interval, ping_timeout=self.heartbeat_interval,
                close_timeout=0,
            )
        except Exception as exc:  # noqa: BLE001 - the Dart stream reports it as onError
            self.lost.extend(self._pending_writes)
            self._pending_writes.clear()
            self._on_error(exc)
            self._on_done()
            return
        self._ws = ws
        self.sockets_opened += 1
        self.timeline.record(NOTE, detail=OPENED)
        for text in self._pending_writes:
            await ws.send(text)
        self._pending_writes.clear()
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = raw
                self.messages.append(message)
                self.timeline.record(FRAME_IN, data=message)
        except ConnectionClosed as exc:
            self.timeline.record(NOTE, detail=f"socket closed: {exc}")
        self._on_done()

    def _write(self, text: str) -> None:
        # Like a Dart sink: accepted at once, written when (if) the socket opens.
        if self._ws is None:
            self._pending_writes.append(text)
        else:
            self._spawn(self._send_quietly(self._ws, text))
        self.timeline.record(FRAME_OUT, data=text)

    @staticmethod
    async def _send_quietly(ws: ClientConnection, text: str) -> None:
        try:
            await ws.send(text)
        except ConnectionClosed:  # a Dart sink drops writes to a closed socket silently
            pass

    def send(self, message: Any) -> None:
        encoded = json.dumps(message)
        if self.is_connected:
            self._write(encoded)
        else:
            self.queue.append(encoded)  # no bound (mistake 6)
            self.timeline.record(NOTE, data=encoded, detail="queued (offline)")

    def _on_error(self, exc: BaseException) -> None:
        self.timeline.record(ERROR, detail=repr(exc))
        self._set(S.ERROR)

    def _on_done(self) -> None:
        self._cleanup()
        if self.should_reconnect and not self.is_disposed:
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

        def fire() -> None:
            if not self.is_disposed:  # checks only _isDisposed (mistake 5)
                self._spawn(self.connect())  # no headers (mistake 4)

        self._reconnect = asyncio.get_running_loop().call_later(delay, fire)

    def _flush_queue(self) -> None:
        while self.queue and self.is_connected:
            self._write(self.queue.pop(0))

    def _start_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()

        async def beat() -> None:  # Timer.periodic(heartbeatInterval, ...)
            while True:
                await asyncio.sleep(self.heartbeat_interval)
                if self.is_connected:
                    self.send({"type": "ping"})  # nothing reads the answer

        self._heartbeat = asyncio.get_running_loop().create_task(beat())

    def _cleanup(self) -> None:
        """``_cleanupConnection``: cancel the listener and the heartbeat, drop the channel.

        Nobody calls ``sink.close()``: a socket still open stays open, unread.
        """
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if self._ws is not None and self._ws.state.name == "OPEN":
            self._orphans.append(self._ws)
        self._ws = None

    async def disconnect(self) -> None:
        self.should_reconnect = False
        self._cleanup()
        self._set(S.DISCONNECTED)
        # Like the Dart code: the reconnect timer is not cancelled, and no close frame
        # is sent. We only note it; dispose() below cleans up for real.
        self.timeline.record(NOTE, detail="disconnect(): reconnect timer left running")

    async def dispose(self) -> None:
        """Really stop everything (the notebook's tidy-up, not the chapter's ``dispose``)."""
        self.is_disposed = True
        self.should_reconnect = False
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in (self._ws, *self._orphans):
            if ws is not None:
                ws.transport.abort()
        self._ws = None
        self._orphans.clear()
        if self.state is not S.DISCONNECTED:
            self._set(S.DISCONNECTED, "disposed")
