"""``ReconnectingWebSocket``: a websockets client that survives the network.

The ``websockets`` library gives one connection; this shell adds what a
real-time app needs around it, and records every step on a
:class:`~rtlab.state.Timeline` so widgets and tests can watch:

* **Honest states.** ``connected`` is entered only after the opening handshake
  has finished (RFC 6455 §4.1); a refused or failed handshake never looks
  connected, not even briefly.
* **Reconnect** with any :mod:`rtlab.backoff` policy. Attempts are numbered
  from 1 after each drop and reset only by a finished handshake; with
  ``max_attempts`` set, the client gives up in the ``error`` state.
* **Heartbeat.** A WebSocket ping (RFC 6455 §5.5.2) every
  ``heartbeat_interval`` seconds; no pong within ``heartbeat_timeout`` and the
  link is declared dead and aborted. A half-open link (a frozen server, a
  vanished NAT entry) is therefore noticed within ``heartbeat_interval +
  heartbeat_timeout`` seconds, independent of ``close_timeout``. Heartbeats
  are control frames: they are never queued behind data.
* **Offline queue.** ``send()`` never loses a message silently: while offline
  it queues, bounded by ``queue_size`` messages; on overflow ``"reject"``
  raises :class:`QueueFull` and ``"drop-oldest"`` drops the oldest and records
  a ``note`` event saying so. Memory is bounded by ``queue_size`` times the
  largest message. The queue is flushed in order after a reconnect.
* **Acknowledged delivery (optional).** A message written to a socket that dies
  a moment later may never have reached the server. With ``ack_id`` (a
  function naming the message id an incoming frame acknowledges, e.g.
  :func:`echo_ack` for ``/ws/echo``) sent messages stay in flight until
  acknowledged and are re-sent first, in order, after a reconnect.
* **Fresh credentials.** ``headers`` may be a callable (sync or async) that is
  called again before every attempt, so a reconnect carries a current token.
* **Clean close.** ``close()`` cancels every task it started and closes the
  socket; nothing is left running.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode

from rtlab.backoff import Exponential, Policy
from rtlab.envelope import Envelope
from rtlab.sources import resolve
from rtlab.state import (
    ERROR,
    FRAME_IN,
    FRAME_OUT,
    NOTE,
    ConnectionState,
    Timeline,
)
from rtlab.supervised import Attempts, ClientClosed, ConnectionFailed, Supervised

HeadersSource = Mapping[str, str] | Callable[[], Mapping[str, str] | Awaitable[Mapping[str, str]]]
Overflow = Literal["reject", "drop-oldest"]


_CLOSED = object()  # put in the inbox by close(): wakes every recv() waiting


class QueueFull(RuntimeError):
    """The offline queue is at ``queue_size`` and the overflow policy is ``reject``."""


def echo_ack(message: Any) -> str | None:
    """Acknowledgement rule for an echo server: a frame carrying our id acknowledges it."""
    if isinstance(message, dict) and message.get("type") not in ("pong", "error"):
        ident = message.get("id")
        return None if ident is None else str(ident)
    return None


class _Tapped(ClientConnection):
    """A connection that hands complete messages to ``tap`` as soon as they are parsed.

    Without it every message would travel websockets' assembler, then our
    reader task, then ``recv()``: one more event-loop turn per message than a
    plain ``websockets`` client, about 10% of a loopback round trip. Only
    unfragmented text/binary frames arriving while the assembler holds nothing
    are tapped, so order is kept; fragmented messages, invalid UTF-8 and
    everything before the handshake take the library's normal path.
    """

    tap: Callable[[str | bytes], None] | None = None

    def process_event(self, event: object) -> None:
        tap = self.tap
        if (
            tap is not None
            and isinstance(event, Frame)
            and event.fin
            and event.opcode in (Opcode.TEXT, Opcode.BINARY)
            and not len(self.recv_messages.frames)
        ):
            if event.opcode is Opcode.BINARY:
                tap(bytes(event.data))
                return
            try:
                text = bytes(event.data).decode()
            except UnicodeDecodeError:
                pass  # let websockets fail the connection with 1007
            else:
                tap(text)
                return
        super().process_event(event)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Outgoing:
    text: str
    id: str | None
    data: Any


def _encode(message: Any) -> tuple[str, str | None, Any]:
    """Serialise a message; returns the text, its id (if any) and what to show in the timeline."""
    if isinstance(message, Envelope):
        data = message.to_dict()
        return json.dumps(data, separators=(",", ":")), message.id, data
    if isinstance(message, str):
        return message, None, message
    text = json.dumps(message, separators=(",", ":"))
    ident = message.get("id") if isinstance(message, dict) else None
    return text, None if ident is None else str(ident), message


class ReconnectingWebSocket(Supervised):
    """A WebSocket client that reconnects, heartbeats and queues (see the module docs).

    Use it as an async context manager or call :meth:`connect` and
    :meth:`close`. Incoming frames are decoded from JSON (text that is not JSON
    is delivered as a ``str`` and an ``error`` event is recorded) and handed
    out in order by :meth:`recv` or ``async for``. The inbox holds the newest
    ``inbox_size`` unread messages: a notebook that only watches the timeline
    never stalls the link, and every message dropped unread is counted in
    ``inbox_dropped`` and noted on the timeline.
    """

    task_label = "rtlab-ws"

    def __init__(
        self,
        url: str,
        *,
        policy: Policy | None = None,
        max_attempts: int | None = None,
        heartbeat_interval: float | None = 10.0,
        heartbeat_timeout: float = 5.0,
        queue_size: int = 1000,
        overflow: Overflow = "reject",
        ack_id: Callable[[Any], str | None] | None = None,
        headers: HeadersSource | None = None,
        open_timeout: float = 5.0,
        inbox_size: int = 10_000,
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "",
        **connect_options: Any,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if overflow not in ("reject", "drop-oldest"):
            raise ValueError(f"overflow must be 'reject' or 'drop-oldest', got {overflow!r}")
        self.url = url
        self.name = name or url
        self.policy = policy if policy is not None else Exponential(base=0.5, cap=10, jitter="full")
        self.max_attempts = max_attempts
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.queue_size = queue_size
        self.overflow = overflow
        self.ack_id = ack_id
        self.headers = headers
        self.open_timeout = open_timeout
        self._init_supervision(timeline)
        self._rng = rng
        self._connect_options = {"proxy": None, "close_timeout": 1.0, **connect_options}
        self._outbox: deque[_Outgoing] = deque()
        self._in_flight: dict[str, _Outgoing] = {}
        self._inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=inbox_size)
        self._ws: ClientConnection | None = None
        self._wake_sender = asyncio.Event()
        self._sending = False
        self.last_error: BaseException | None = None
        self.connections = 0
        self.inbox_dropped = 0

    # -- public API ---------------------------------------------------------

    @property
    def pending(self) -> int:
        """Messages not yet known to be delivered: queued plus in flight."""
        return len(self._outbox) + len(self._in_flight)

    def _stopped_error(self) -> BaseException:
        return ConnectionFailed(f"{self.name} stopped in state {self.state}: {self.last_error!r}")

    async def send(self, message: Any) -> None:
        """Send a message (an :class:`Envelope`, a JSON-able value, or text).

        Written at once when connected and nothing is queued ahead of it;
        otherwise queued and flushed in order after the next (re)connect.
        """
        if self._closing.is_set():
            raise ClientClosed(f"{self.name} is closed: message not sent")
        text, ident, data = _encode(message)
        item = _Outgoing(text, ident, data)
        ws = self._ws
        if (
            ws is not None
            and self.connected
            and not self._outbox
            and not self._sending
            and self.pending < self.queue_size
        ):
            # Fast path: nothing is waiting ahead of us, write directly.
            self._sending = True
            try:
                self._track(item)
                await ws.send(text)
                self.timeline.record(FRAME_OUT, data=data)
                return
            except ConnectionClosed:
                self._untrack(item)
                self._outbox.appendleft(item)
                return
            finally:
                self._sending = False
                if self._outbox:
                    self._wake_sender.set()
        self._enqueue(item)

    async def recv(self) -> Any:
        """The next incoming message, waiting for it; raises :class:`ClientClosed` after close."""
        if self._inbox.empty() and self._closing.is_set():
            raise ClientClosed(f"{self.name} is closed")
        message = await self._inbox.get()
        if message is _CLOSED:
            self._inbox.put_nowait(_CLOSED)  # wake the next waiter too
            raise ClientClosed(f"{self.name} is closed")
        return message

    async def close(self) -> None:
        """Stop for good: cancel reconnects and heartbeats, close the socket, end ``recv``."""
        self._closing.set()
        self._wake_sender.set()
        if self._inbox.full():
            self._inbox.get_nowait()
        self._inbox.put_nowait(_CLOSED)
        ws = self._ws
        await self._stop_supervisor()
        if ws is not None:
            await self._close_socket(ws)
        self._ws = None
        self._mark_closed()

    # -- queue ---------------------------------------------------------------

    def _enqueue(self, item: _Outgoing) -> None:
        if self.pending >= self.queue_size:
            if self.overflow == "reject" or not self._outbox:
                raise QueueFull(
                    f"{self.pending} messages already waiting (queue_size={self.queue_size}); "
                    "message not queued"
                )
            dropped = self._outbox.popleft()
            self.timeline.record(NOTE, data=dropped.data, detail="queue full: dropped oldest")
        self._outbox.append(item)
        self._wake_sender.set()

    def _track(self, item: _Outgoing) -> None:
        if self.ack_id is not None and item.id is not None:
            self._in_flight[item.id] = item

    def _untrack(self, item: _Outgoing) -> None:
        if item.id is not None:
            self._in_flight.pop(item.id, None)

    def _requeue_in_flight(self) -> None:
        """Unacknowledged messages go back to the front of the queue, oldest first."""
        if self._in_flight:
            self._outbox.extendleft(reversed(list(self._in_flight.values())))
            self.timeline.record(NOTE, detail=f"{len(self._in_flight)} unacknowledged re-queued")
            self._in_flight.clear()

    # -- the connection loop ---------------------------------------------------

    async def _supervise(self) -> None:
        attempts = Attempts(self.policy, self.timeline, max_attempts=self.max_attempts,
                            rng=self._rng)
        while not self._closing.is_set():
            self._machine.to(ConnectionState.CONNECTING)
            attempts.starting()
            ws = await self._open()
            if ws is not None:
                self._ws = ws
                self.connections += 1
                self._requeue_in_flight()
                self._machine.to(ConnectionState.CONNECTED)
                attempts.reset()
                await self._session(ws)
                self._ws = None
                if self._closing.is_set():
                    return
            if attempts.failed():
                self._machine.to(ConnectionState.ERROR, attempts.give_up_detail(self.last_error))
                return
            self._machine.to(ConnectionState.RECONNECTING, str(self.last_error or ""))
            await self._pause(attempts.plan())

    async def _open(self) -> ClientConnection | None:
        """One handshake. ``None`` (and the reason in ``last_error``) if it failed."""
        try:
            headers = await resolve(self.headers)
            return await connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.open_timeout,
                ping_interval=None,  # our heartbeat below, with a stated bound
                create_connection=_Tapped,
                **self._connect_options,
            )
        except asyncio.CancelledError:
            raise
        except InvalidStatus as exc:
            self.last_error = exc
            status = exc.response.status_code
            self.timeline.record(ERROR, data=status, detail=f"handshake refused: HTTP {status}")
        except Exception as exc:  # noqa: BLE001 - every failure is a reason to retry
            self.last_error = exc
            self.timeline.record(ERROR, detail=f"connect failed: {exc!r}")
        return None

    async def _session(self, ws: ClientConnection) -> None:
        """Run reader, sender and heartbeat until the link ends; then tidy up."""
        tasks = [asyncio.ensure_future(self._reader(ws)), asyncio.ensure_future(self._sender(ws))]
        if self.heartbeat_interval:
            tasks.append(asyncio.ensure_future(self._heartbeat(ws)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception) and not isinstance(outcome, ConnectionClosed):
                    # A bug or a surprise in a session task: never swallow it silently.
                    self.last_error = outcome
                    self.timeline.record(ERROR, detail=f"session task failed: {outcome!r}")
            if not self._closing.is_set():
                await self._close_socket(ws)

    async def _close_socket(self, ws: ClientConnection) -> None:
        try:
            await asyncio.wait_for(ws.close(), self._connect_options["close_timeout"] or 1.0)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001
            ws.transport.abort()

    async def _reader(self, ws: ClientConnection) -> None:
        """Read until the link ends. Most frames arrive through the tap; see ``_Tapped``."""
        if isinstance(ws, _Tapped):
            ws.tap = self._on_raw
        try:
            async for raw in ws:
                self._on_raw(raw)
        except ConnectionClosed:
            pass
        finally:
            if isinstance(ws, _Tapped):
                ws.tap = None
            rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
            if rcvd is not None:
                detail = f"closed by peer: code {rcvd.code} {rcvd.reason}".rstrip()
            elif sent is not None:
                detail = f"closed by this client: code {sent.code} {sent.reason}".rstrip()
            else:
                detail = "link lost: no close frame"
            if not self._closing.is_set():
                if not isinstance(self.last_error, TimeoutError):
                    self.last_error = ConnectionError(detail)
                self.timeline.record(NOTE, detail=detail)

    def _on_raw(self, raw: str | bytes) -> None:
        """One incoming message: decode, record, settle its ack, deliver. Never raises."""
        try:
            message = json.loads(raw)
        except ValueError:
            message = raw
            self.timeline.record(ERROR, data=raw, detail="frame is not JSON")
        self.timeline.record(FRAME_IN, data=message)
        if self.ack_id is not None and self._in_flight:
            try:
                acked = self.ack_id(message)
            except Exception as exc:  # noqa: BLE001 - a user callback must not kill the link
                self.timeline.record(ERROR, detail=f"ack_id raised {exc!r}")
                acked = None
            if acked is not None:
                self._in_flight.pop(acked, None)
        self._deliver(message)

    def _deliver(self, message: Any) -> None:
        """Hand a message to ``recv``; if nobody reads, drop the oldest unread one, visibly."""
        if self._inbox.full():
            self._inbox.get_nowait()
            self.inbox_dropped += 1
            if self.inbox_dropped % 1000 == 1:
                self.timeline.record(
                    NOTE,
                    detail=f"inbox full ({self._inbox.maxsize}): {self.inbox_dropped} unread "
                    "messages dropped so far; call recv() or raise inbox_size",
                )
        self._inbox.put_nowait(message)

    async def _sender(self, ws: ClientConnection) -> None:
        while True:
            while self._outbox:
                if self._sending:
                    break
                item = self._outbox[0]
                self._sending = True
                try:
                    self._track(item)
                    await ws.send(item.text)
                except BaseException:
                    # Still at the head of the queue: it goes again on the next link.
                    self._untrack(item)
                    if self._closing.is_set():
                        raise
                    return
                finally:
                    self._sending = False
                self._outbox.popleft()
                self.timeline.record(FRAME_OUT, data=item.data)
            self._wake_sender.clear()
            await self._wake_sender.wait()
            if self._closing.is_set():
                return

    async def _heartbeat(self, ws: ClientConnection) -> None:
        assert self.heartbeat_interval

        async def ping_pong() -> None:
            pong = await ws.ping()
            await pong

        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await asyncio.wait_for(ping_pong(), self.heartbeat_timeout)
            except TimeoutError:
                self.last_error = TimeoutError(
                    f"no pong within {self.heartbeat_timeout}s: link presumed dead"
                )
                self.timeline.record(NOTE, detail=str(self.last_error))
                ws.transport.abort()
                return
            except ConnectionClosed:
                return
