"""``ReconnectingWebSocket``: a websockets client that survives the network.

The ``websockets`` library gives one connection; this shell adds what a
real-time app needs around it, and records every step on a
:class:`~rtlab.state.Timeline` so widgets and tests can watch:

* **Honest states.** ``connected`` is entered only after the opening handshake
  has finished (RFC 6455 §4.1); a refused or failed handshake never looks
  connected, not even briefly.
* **Reconnect** with any :mod:`rtlab.backoff` policy, decided by
  :mod:`rtlab.reconnect`: attempts are numbered from 1 after each drop and reset
  only by a finished handshake; with ``max_attempts`` set, the client gives up in
  the ``error`` state.
* **Heartbeat.** A WebSocket ping (RFC 6455 §5.5.2) every
  ``heartbeat_interval`` seconds; no pong within ``heartbeat_timeout`` and the
  link is declared dead and aborted. A half-open link (a frozen server, a
  vanished NAT entry) is therefore noticed within ``heartbeat_interval +
  heartbeat_timeout`` seconds, independent of the close timeout. Heartbeats
  are control frames: they are never queued behind data.
* **Offline queue.** ``send()`` never loses a message silently: while offline
  it queues, bounded by ``queue_size`` messages; on overflow ``"reject"``
  raises :class:`~rtlab.errors.QueueFull` and ``"drop-oldest"`` drops the oldest and
  records a ``note`` event saying so. Memory is bounded by ``queue_size`` times the
  largest message. The queue is flushed in order after a reconnect.
* **Acknowledged delivery (optional).** A message written to a socket that dies
  a moment later may never have reached the server. With ``ack_id`` (a
  function naming the message id an incoming frame acknowledges, e.g.
  :func:`echo_ack` for ``/ws/echo``) sent messages stay in flight until
  acknowledged and are re-sent first, in order, after a reconnect.
* **Fresh credentials.** ``headers`` may be a callable (sync or async) that is
  called again before every attempt, so a reconnect carries a current token.
* **Text and binary.** ``send(b"...")`` writes a binary frame; a binary frame
  in arrives as ``bytes``, untouched. Text frames are decoded as ``decode``
  says: ``"json"`` (the default) hands out the parsed value when a frame is
  JSON and the text itself (a ``str``) when it is not, which is a message like
  any other, not an error; ``"text"`` never parses; ``"envelope"`` asks for
  typed envelopes (:class:`~rtlab.envelope.Envelope`): a text frame that is not
  one is recorded as an ``error`` event (with the reason) and not delivered.
* **Mistakes get an answer.** A failure no retry can fix stops the client at
  once in ``error`` with a message that names the cause: a URL that is not a
  WebSocket URL (``http://...``), a handshake answered with a 4xx other than
  408/429 (a wrong path: 404). A refused port, a timeout or a 5xx is retried
  (a restarting server looks like that); ``connect()`` waits 10 s by default
  and its :class:`~rtlab.errors.ConnectTimeout` says what the last attempt got.
  Every knob is checked when the client is made (a zero or negative interval
  or timeout is a ``ValueError``).
* **Bounded inbox.** Unread messages wait in an inbox of ``inbox_size``; when
  nobody reads, the oldest unread go first, counted and noted, never silently.
* **Clean close.** ``close()`` cancels every task it started and closes the
  socket; nothing is left running.

Knobs and the ``websockets`` library's names for the same thing:

============================  ===================================================
rtlab                         ``websockets.asyncio.client.connect``
============================  ===================================================
``heartbeat_interval``        ``ping_interval`` (rtlab sets the library's to None)
``heartbeat_timeout``         ``ping_timeout``
``connect_timeout``           ``open_timeout``
``policy``                    ``reconnect_delays`` (``async for ws in connect(...)``)
``max_attempts``              none: it retries until ``process_exception`` calls an
                              error fatal
``queue_size``, ``overflow``  none: ``send`` on a closed connection raises
``inbox_size``                ``max_queue`` (frames, and it pushes back on the
                              server instead of dropping)
``close()``                   ``close()``; ``close_timeout`` passes through
``decode``                    none: ``recv()`` returns ``str`` or ``bytes``
============================  ===================================================
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from rtlab.backoff import Policy
from rtlab.envelope import Envelope
from rtlab.errors import ClientClosed, ConnectionFailed, EnvelopeError, QueueFull
from rtlab.knobs import positive, positive_or_none
from rtlab.outbox import Inbox, Outbox, Overflow, WithInbox, WithOutbox
from rtlab.reconnect import Happened, Outcome
from rtlab.state import ERROR, FRAME_IN, FRAME_OUT, NOTE, Timeline
from rtlab.supervised import Supervised
from rtlab.wsconnection import (
    CLOSE_TIMEOUT,
    OpenFailed,
    TappedConnection,
    close_socket,
    heartbeat,
    open_connection,
    read_messages,
    run_session,
)

HeadersSource = Mapping[str, str] | Callable[[], Mapping[str, str] | Awaitable[Mapping[str, str]]]
Decode = Literal["json", "text", "envelope"]
DECODES: tuple[Decode, ...] = ("json", "text", "envelope")

__all__ = ["ClientClosed", "ConnectionFailed", "QueueFull", "ReconnectingWebSocket", "echo_ack"]


def echo_ack(message: Any) -> str | None:
    """Acknowledgement rule for an echo server: a frame carrying our id acknowledges it."""
    if isinstance(message, Envelope):
        return None if message.type in ("pong", "error") else (message.id or None)
    if isinstance(message, dict) and message.get("type") not in ("pong", "error"):
        ident = message.get("id")
        return None if ident is None else str(ident)
    return None


@dataclass(slots=True)
class _Outgoing:
    text: str | bytes
    id: str | None
    data: Any


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _encode(message: Any) -> _Outgoing:
    """Serialise a message: its frame (text, or bytes for a binary frame), its id (if any)
    and what to show in the timeline."""
    if type(message) is dict:  # the hot path: a JSON object
        ident = message.get("id")
        return _Outgoing(_dumps(message), None if ident is None else str(ident), message)
    if isinstance(message, Envelope):
        data = message.to_dict()
        return _Outgoing(_dumps(data), message.id, data)
    if isinstance(message, str):
        return _Outgoing(message, None, message)
    if isinstance(message, bytes | bytearray | memoryview):
        frame = bytes(message)
        return _Outgoing(frame, None, frame)
    text = _dumps(message)
    ident = message.get("id") if isinstance(message, dict) else None
    return _Outgoing(text, None if ident is None else str(ident), message)


_loads = json.loads


def _decoder(decode: Decode) -> Callable[[str], Any]:
    """How a text frame becomes a message; raises ValueError for one to refuse. (``json``,
    the default, is inlined in ``_on_raw``: JSON when it parses, the text when not.)"""
    if decode == "envelope":
        return Envelope.from_json
    return str


class ReconnectingWebSocket(WithOutbox, WithInbox, Supervised):
    """A WebSocket client that reconnects, heartbeats and queues (see the module docs).

    Use it as an async context manager or call :meth:`connect` and
    :meth:`close`. Incoming frames are decoded as ``decode`` says (module docs:
    JSON when it is JSON, a ``str`` when not, ``bytes`` for binary frames) and
    handed out in order by :meth:`recv` or ``async for``. The inbox holds the newest
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
        connect_timeout: float = 5.0,
        inbox_size: int = 10_000,
        decode: Decode = "json",
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "",
        **connect_options: Any,
    ) -> None:
        if decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")
        self.url = url
        self.name = name or url
        self.heartbeat_interval = positive_or_none("heartbeat_interval", heartbeat_interval)
        self.heartbeat_timeout = positive("heartbeat_timeout", heartbeat_timeout)
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        self.ack_id = ack_id
        self.headers = headers
        self.decode = decode
        self._json = decode == "json"
        self._decode_text = _decoder(decode)
        self._outbox: Outbox[_Outgoing] = Outbox(queue_size, overflow)
        self._init_supervision(timeline, policy, max_attempts=max_attempts, rng=rng)
        self._inbox: Inbox[Any] = Inbox(inbox_size, self.timeline)
        self._connect_options = {"close_timeout": CLOSE_TIMEOUT, **connect_options}
        self._close_timeout = positive_or_none(
            "close_timeout", self._connect_options["close_timeout"]) or CLOSE_TIMEOUT
        self._ws: ClientConnection | None = None
        self._wake_sender = asyncio.Event()
        self._sending = False
        self.connections = 0

    # -- public API ---------------------------------------------------------

    async def send(self, message: Any) -> None:
        """Send a message: an :class:`Envelope` or a JSON-able value (as JSON text), a
        ``str`` (as it is), or ``bytes`` (a binary frame).

        Written at once when connected and nothing is queued ahead of it;
        otherwise queued and flushed in order after the next (re)connect.
        Raises :class:`~rtlab.errors.QueueFull` when the queue is full and
        ``overflow`` is ``"reject"``.
        """
        outbox = self._outbox
        ws = self._ws
        if (self._connected and ws is not None and not self._sending and not outbox.queued
                and self.ack_id is None):  # (close() clears _connected first)
            # The fast path: connected, nothing waits ahead, nothing to track: write now.
            # (What put + _write do, inline: it counts as pending while it is written; if
            # the link breaks under it, it waits at the head for the next link.)
            if type(message) is dict:  # the common case, without building an _Outgoing
                text, data = _dumps(message), message
            else:
                item = _encode(message)
                text, data = item.text, item.data
            outbox.writing += 1
            self._sending = True
            try:
                await ws.send(text)
            except BaseException as exc:
                outbox.writing -= 1
                outbox.queued.appendleft(_Outgoing(text, None, data))  # no ack tracks it
                self._wake_sender.set()
                if isinstance(exc, ConnectionClosed):
                    return  # it goes again on the next link
                raise
            finally:
                self._sending = False
            outbox.writing -= 1
            self.timeline.frame(FRAME_OUT, data)
            if outbox.queued:  # sent meanwhile, queued behind this one: the sender's turn
                self._wake_sender.set()
            return
        if self._closing.is_set():
            raise ClientClosed(f"{self.name} is closed: message not sent")
        if self._supervisor is not None and self._supervisor.done():
            raise self._stopped_error()  # stopped for good (a fatal failure, gave up)
        item = _encode(message)
        dropped = outbox.put(item)
        if dropped is not None:
            self.timeline.record(NOTE, data=dropped.data, detail="queue full: dropped oldest")
        if ws is not None and not self._sending and self.connected and outbox.queued[0] is item:
            # Nothing is waiting ahead of us: write directly.
            await self._write(ws)
            if outbox.queued:
                self._wake_sender.set()
        else:
            self._wake_sender.set()

    async def close(self) -> None:
        """Stop for good: cancel reconnects and heartbeats, close the socket, end ``recv``."""
        self._connected = False  # no more fast-path sends
        self._closing.set()
        self._wake_sender.set()
        self._inbox.end(ClientClosed(f"{self.name} is closed"))
        ws = self._ws
        await self._stop_supervisor()
        if ws is not None:
            await close_socket(ws, self._close_timeout)
        self._ws = None
        self._mark_closed()

    # -- one attempt: open, run, say how it ended ------------------------------

    async def _attempt(self) -> Outcome:
        opened = await open_connection(self.url, self.timeline,
                                       connect_timeout=self.connect_timeout,
                                       headers=self.headers,
                                       **self._connect_options)
        if isinstance(opened, OpenFailed):
            self.last_error = opened.error
            return Outcome(Happened.FATAL if opened.fatal else Happened.FAILED,
                           opened.detail, opened.status)
        self._ws = opened
        self.connections += 1
        requeued = self._outbox.requeue()
        if requeued:
            self.timeline.record(NOTE, detail=f"{len(requeued)} unacknowledged re-queued")
        self._opened()
        await self._session(opened)
        self._ws = None
        if self._closing.is_set():
            return Outcome(Happened.CLOSED, "closed by the client")
        return Outcome(Happened.DROPPED, str(self.last_error or ""))

    async def _session(self, ws: TappedConnection) -> None:
        """Run reader, sender and heartbeat until the link ends; then tidy up."""
        jobs = [self._reader(ws), self._sender(ws)]
        if self.heartbeat_interval:
            jobs.append(heartbeat(ws, self.heartbeat_interval, self.heartbeat_timeout,
                                  self.timeline, self._on_dead))
        surprise = await run_session(self.timeline, *jobs)
        if surprise is not None:
            self.last_error = surprise
        if not self._closing.is_set():
            await close_socket(ws, self._close_timeout)

    def _on_dead(self, verdict: TimeoutError) -> None:
        self.last_error = verdict

    async def _reader(self, ws: TappedConnection) -> None:
        """Read until the link ends. Most frames arrive through the tap."""
        try:
            await read_messages(ws, self._on_raw)
        finally:
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
        if type(raw) is not str:
            message = raw  # a binary frame: bytes, as they came
        elif self._json:
            try:
                message = _loads(raw)
            except ValueError:
                message = raw  # not JSON: a message all the same
        else:
            try:
                message = self._decode_text(raw)
            except (EnvelopeError, ValueError) as exc:
                self.timeline.record(ERROR, data=raw, detail=f"not an envelope: {exc}")
                return
        self.timeline.frame(FRAME_IN, message)
        if self.ack_id is not None and self._outbox.in_flight:
            try:
                acked = self.ack_id(message)
            except Exception as exc:  # noqa: BLE001 - a user callback must not kill the link
                self.timeline.record(ERROR, detail=f"ack_id raised {exc!r}")
                acked = None
            if acked is not None:
                self._outbox.acked(acked)
        self._inbox.put(message)

    async def _write(self, ws: ClientConnection) -> bool:
        """Write the head of the outbox; False (and it stays at the head) if the link broke."""
        self._sending = True
        try:
            with self._outbox.sending(self._ack_key if self.ack_id is not None else None) as item:
                await ws.send(item.text)
        except ConnectionClosed:
            return False  # it goes again on the next link
        finally:
            self._sending = False
        self.timeline.frame(FRAME_OUT, item.data)
        return True

    @staticmethod
    def _ack_key(item: _Outgoing) -> str | None:
        return item.id

    async def _sender(self, ws: ClientConnection) -> None:
        outbox = self._outbox
        while True:
            while outbox.queued and not self._sending:
                if not await self._write(ws):
                    return
            self._wake_sender.clear()
            await self._wake_sender.wait()
            if self._closing.is_set():
                return
