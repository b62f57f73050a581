"""``WebSocketLink``: GraphQL subscriptions that survive drops, frozen servers and token expiry.

One WebSocket carries every subscription of a link (``graphql-transport-ws``, or legacy
``graphql-ws`` with ``subprotocol=LEGACY_WS``). What it adds to a bare protocol client, and
records on :class:`~rtlab.state.Timeline`\\ s so widgets and tests can watch:

* **Fresh credentials.** ``init_payload`` may be a callable (sync or async), called for
  every connection, so a reconnect carries the current token, not the one of the first
  connect.
* **Resubscribe, exactly once.** After a drop the link reconnects with an
  :mod:`rtlab.backoff` policy (attempts numbered from 1 after each drop, reset by an
  acknowledged connection; ``max_attempts`` to give up) and sends ``subscribe`` again for
  every active subscription: each is sent once per connection (a per-connection mark, not
  a guess), and its ``subscribes`` counter says how often in all.
* **Credentials refused (4403): refresh, never repeat.** The same token would be refused
  again, so the link calls ``refresh`` and reconnects with the new ``init_payload``. If
  there is no ``refresh``, if it fails, if it hands back the refused payload, or if the
  refreshed credentials are refused too (a 4403 before or within ``auth_window`` seconds of
  the acknowledgement), the link gives up: every subscription ends with
  :class:`AuthenticationFailed` saying what the server said. A session that lived longer
  than ``auth_window`` before its 4403 (a token that *expired*) counts as a fresh failure,
  so a long stream refreshes as often as its tokens expire.
* **Keep-alive with a stated bound.** Every ``keepalive_interval`` seconds a ``ping``
  (the protocol's own on graphql-transport-ws, so the GraphQL handler itself must answer;
  a WebSocket ping frame on legacy graphql-ws, which has none); no ``pong`` within
  ``keepalive_timeout`` and the link is presumed dead and aborted. A frozen server is
  therefore noticed within ``keepalive_interval + keepalive_timeout`` seconds.
* **Honest states, per subscription.** The link's timeline holds the connection's states,
  attempts and control frames; each :class:`Subscription` has a timeline of its own with
  its states and its events. A subscription is ``connected`` once its ``subscribe`` was
  written on an acknowledged connection (the protocol has no per-subscription ack; a
  refusal arrives as ``error`` and moves it to ``error``), ``reconnecting`` while the link
  is down, ``disconnected`` when cancelled or completed.
* **Independent lifetimes.** Cancelling one subscription (``complete`` to the server)
  leaves the others running; when none remain the socket is closed, and the next
  subscription opens a new one.

Why on ``websockets`` rather than gql's ``WebsocketsTransport``: gql's transport takes a
fixed ``init_payload`` at construction, ends every subscription when its socket drops and
keeps no list to resubscribe from; its connection and its subscriptions share one
lifetime. Resubscription needs the subscriptions to outlive the socket, so this module owns
both, with the wire format in a pure core (:mod:`rtlab.graphql.wsprotocol`) that unit
tests drive without a socket. The benchmark (``benchmarks/graphql_subscriptions.py``)
measures the cost against gql on the same stream.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rtlab.backoff import Exponential, Policy
from rtlab.graphql.links import ForwardStream, Link, NetworkError, Operation, Response
from rtlab.graphql.wsprotocol import (
    LEGACY_WS,
    SUBPROTOCOLS,
    TRANSPORT_WS,
    Protocol,
    ProtocolViolation,
    close_kind,
    describe_close,
)
from rtlab.sources import resolve
from rtlab.state import (
    ERROR,
    FRAME_IN,
    FRAME_OUT,
    NOTE,
    ConnectionState,
    StateMachine,
    Timeline,
)
from rtlab.supervised import Attempts
from rtlab.waiting import until
from rtlab.ws import _Tapped

Payload = Mapping[str, Any] | Callable[[], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]
Refresh = Callable[[], Any]

S = ConnectionState
_OPEN = object()  # a subscription's end marker while it still runs


class AuthenticationFailed(NetworkError):
    """The server refused the credentials (4403) and a refresh did not help (or none was
    possible). The message carries the server's close reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)


class SubscriptionClosed(ConnectionError):
    """Raised by :meth:`Subscription.wait_live` when the subscription ended first."""


class Subscription:
    """One subscription of a :class:`WebSocketLink`: an async iterator of :class:`Response`.

    Hot: it is registered (and the link connects) as soon as it is created. ``timeline``
    holds its states and, as ``in`` events, each result's ``data``. Results wait in a
    buffer of ``buffer`` items for whoever iterates (the oldest dropped, counted in
    ``dropped`` and noted, when nobody reads); ``buffer=0`` keeps none, for subscriptions
    only watched through the timeline or ``listeners``. ``listeners`` are called with each
    :class:`Response` as it arrives (the GraphQL client writes the cache there).

    Iteration ends when the server completes the subscription, after a GraphQL ``error``
    (yielded as a response with ``errors``), or when it is cancelled; it raises
    :class:`NetworkError` (:class:`AuthenticationFailed` for refused credentials) when the
    link gave up.
    """

    def __init__(self, link: WebSocketLink, op: Operation, ident: str, buffer: int) -> None:
        self.link, self.operation, self.id = link, op, ident
        self.name = op.operation_name or _root_field(op) or "subscription"
        self.query = op.query
        self.variables = dict(op.variables)
        self.timeline = Timeline(maxlen=2000)
        self._machine = StateMachine(self.timeline)
        self.buffer = buffer
        self._items: deque[Response] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._end: Any = _OPEN
        self.listeners: list[Callable[[Response], Any]] = []
        self.events = 0
        self.dropped = 0
        self.subscribes = 0  # how many times ``subscribe`` went on the wire (once per connection)
        self.error: BaseException | None = None
        self._sent_on = 0  # the connection number it was last sent on

    def __repr__(self) -> str:
        return f"<Subscription {self.id} {self.name} {self.state.value} events={self.events}>"

    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def active(self) -> bool:
        return self._end is _OPEN

    def _to(self, state: ConnectionState, detail: str = "") -> None:
        if self._end is _OPEN or state in (S.DISCONNECTED, S.ERROR):
            self._machine.to(state, detail)

    # -- from the link -------------------------------------------------------------------------
    def _push(self, response: Response) -> None:
        self.events += 1
        self.timeline.record(FRAME_IN, data=response.data if not response.errors
                             else {"errors": response.errors})
        for listener in self.listeners:
            try:
                listener(response)
            except Exception as exc:  # noqa: BLE001 - a listener must not kill the stream
                self.timeline.record(ERROR, detail=f"listener failed: {exc!r}")
        if not self.buffer:
            return
        if len(self._items) >= self.buffer:
            self._items.popleft()
            self.dropped += 1
            if self.dropped % 1000 == 1:
                self.timeline.record(NOTE, detail=f"buffer full ({self.buffer}): {self.dropped} "
                                     "unread results dropped so far; iterate or raise buffer")
        self._items.append(response)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _finish(self, error: BaseException | None, state: ConnectionState, detail: str) -> None:
        if self._end is not _OPEN:
            return
        self._end = error
        self.error = error
        self._to(state, detail)
        self._wake()

    # -- for the consumer ------------------------------------------------------------------------
    async def next(self) -> Response:
        """The next result; ``StopAsyncIteration`` at the end, the link's error if it gave up."""
        while not self._items:
            if self._end is not _OPEN:
                if self._end is None:
                    raise StopAsyncIteration
                raise self._end
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    __anext__ = next

    def __aiter__(self) -> AsyncIterator[Response]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Response]:
        try:
            while True:
                try:
                    yield await self.next()
                except StopAsyncIteration:
                    return
        finally:
            await self.cancel()

    async def wait_live(self, timeout: float | None = 10.0) -> None:
        """Wait until ``subscribe`` is on an acknowledged connection (state ``connected``)."""
        await until(self.timeline, lambda _t: self.state is S.CONNECTED or not self.active,
                    timeout)
        if self.state is not S.CONNECTED:
            raise SubscriptionClosed(f"{self.name} ended in state {self.state.value}: "
                                     f"{self.error!r}")

    async def cancel(self) -> None:
        """Stop this subscription (``complete`` to the server); the others keep running."""
        await self.link._cancel(self)

    aclose = cancel


def _root_field(op: Operation) -> str | None:
    try:
        selection = op.definition.selection_set.selections[0]
    except (ValueError, IndexError):
        return None
    name = getattr(selection, "name", None)
    return getattr(name, "value", None)


class _SessionEnd:
    """How one connection ended."""

    def __init__(self) -> None:
        self.acked_at: float | None = None
        self.code: int | None = None
        self.reason = ""
        self.error: BaseException | None = None
        self.payload: Any = None

    def describe(self) -> str:
        if self.error is not None and self.code is None:
            return str(self.error)
        return describe_close(self.code, self.reason)


class WebSocketLink(Link):
    """Subscriptions over one WebSocket that reconnects and resubscribes (see the module docs).

    Queries and mutations sent here are refused: route them to HTTP with
    :func:`rtlab.graphql.links.split`. ``close()`` ends every subscription and the socket.
    """

    def __init__(
        self,
        url: str,
        *,
        init_payload: Payload | None = None,
        refresh: Refresh | None = None,
        subprotocol: str = TRANSPORT_WS,
        policy: Policy | None = None,
        max_attempts: int | None = None,
        keepalive_interval: float | None = 10.0,
        keepalive_timeout: float = 5.0,
        auth_window: float = 1.0,
        connect_timeout: float = 5.0,
        ack_timeout: float = 5.0,
        buffer: int = 10_000,
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "graphql-ws",
    ) -> None:
        if subprotocol not in SUBPROTOCOLS:
            raise ValueError(f"subprotocol must be one of {SUBPROTOCOLS}, got {subprotocol!r}")
        if buffer < 0:
            raise ValueError(f"buffer must be >= 0, got {buffer}")
        self.url = url
        self.init_payload = init_payload
        self.refresh = refresh
        self.subprotocol = subprotocol
        self.policy = policy if policy is not None else Exponential(base=0.5, cap=10,
                                                                     jitter="full")
        self.max_attempts = max_attempts
        self.keepalive_interval = keepalive_interval
        self.keepalive_timeout = keepalive_timeout
        self.auth_window = auth_window
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self.buffer = buffer
        self.name = name
        self.timeline = timeline if timeline is not None else Timeline()
        self._machine = StateMachine(self.timeline)
        self._rng = rng
        self._ids = itertools.count(1)
        self._subs: dict[str, Subscription] = {}
        self._ws: ClientConnection | None = None
        self._proto = Protocol(subprotocol)
        self._acked = False
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pong: asyncio.Future[None] | None = None
        self._next_payload: Any = None
        self._dead: TimeoutError | None = None
        self.last_error: BaseException | None = None
        self.connections = 0  # acknowledged connections
        self.subscriptions = 0  # ``subscribe`` messages sent, first and re-sent
        self.resubscriptions = 0  # of which re-sent after a reconnect
        self.refreshes = 0

    # -- public API ------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def active(self) -> list[Subscription]:
        """The subscriptions still running, in the order they were made."""
        return list(self._subs.values())

    @property
    def detection_bound(self) -> float | None:
        """Seconds within which a frozen server is noticed (None: no keep-alive)."""
        if not self.keepalive_interval:
            return None
        return self.keepalive_interval + self.keepalive_timeout

    async def request(self, op: Operation, forward: Any = None) -> Response:
        raise NetworkError(f"WebSocketLink carries subscriptions only, not a {op.kind}: "
                           "split queries and mutations off to HTTP")

    def subscribe(self, op: Operation, forward: ForwardStream | None = None) -> Subscription:
        """Start a subscription now; returns it (iterate it, or follow its timeline)."""
        buffer = int(op.context.get("buffer", self.buffer))
        sub = Subscription(self, op, str(next(self._ids)), buffer)
        self._subs[sub.id] = sub
        sub._to(S.CONNECTING)
        self.timeline.record(NOTE, data={"id": sub.id, "operation": sub.name},
                             detail=f"subscription {sub.id} added")
        if self._ws is not None and self._acked:
            asyncio.get_running_loop().create_task(self._send_subscribe(self._ws, sub))
        self._ensure_running()
        return sub

    async def close(self) -> None:
        """End every subscription (``complete`` each) and close the socket; nothing left running."""
        for sub in list(self._subs.values()):
            sub._finish(None, S.DISCONNECTED, "link closed by the client")
        await self._shutdown(complete=list(self._subs.values()))

    async def __aenter__(self) -> WebSocketLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- bookkeeping -----------------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name=f"rtlab-graphql-ws {self.name}")
        self._wake.set()

    async def _cancel(self, sub: Subscription) -> None:
        if self._subs.get(sub.id) is not sub:
            sub._finish(None, S.DISCONNECTED, "cancelled")
            return
        sub._finish(None, S.DISCONNECTED, "cancelled by the client")
        self.timeline.record(NOTE, data={"id": sub.id, "operation": sub.name},
                             detail=f"subscription {sub.id} cancelled")
        await self._shutdown(complete=[sub]) if len(self._subs) == 1 else await self._complete(sub)

    async def _complete(self, sub: Subscription) -> None:
        self._subs.pop(sub.id, None)
        ws = self._ws
        if ws is not None and self._acked and sub._sent_on == self.connections:
            frame = self._proto.complete(sub.id)
            try:
                await ws.send(frame)
                self.timeline.record(FRAME_OUT, data={"type": "complete", "id": sub.id})
            except ConnectionClosed:
                pass  # the socket is gone: the server forgets the subscription anyway

    async def _shutdown(self, complete: list[Subscription]) -> None:
        """No subscription left: complete the last ones, stop the supervisor, close the socket."""
        for sub in complete:
            await self._complete(sub)
        self._subs.clear()
        task, self._supervisor = self._supervisor, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - recorded already
                pass
        ws, self._ws = self._ws, None
        if ws is not None:
            await _close_socket(ws)
        self._acked = False
        if self.state is not S.DISCONNECTED:
            self._machine.to(S.DISCONNECTED, "no subscription left")

    def _give_up(self, error: NetworkError) -> None:
        self.last_error = error
        self.timeline.record(ERROR, detail=str(error))
        self._machine.to(S.ERROR, str(error))
        for sub in list(self._subs.values()):
            sub._finish(error, S.ERROR, str(error))
        self._subs.clear()

    # -- the connection loop ---------------------------------------------------------------------
    async def _supervise(self) -> None:
        attempts = Attempts(self.policy, self.timeline, max_attempts=self.max_attempts,
                            rng=self._rng)
        refused_once = False  # a 4403 not yet followed by a session that outlived auth_window
        refused_payload: Any = None
        try:
            while self._subs:
                self._machine.to(S.CONNECTING)
                for sub in self._subs.values():
                    sub._to(S.CONNECTING)
                attempts.starting()
                end = await self._session()
                if not self._subs:
                    return
                lived = (time.monotonic() - end.acked_at) if end.acked_at is not None else None
                if end.acked_at is not None:
                    attempts.reset()
                    if lived is not None and lived >= self.auth_window:
                        refused_once = False
                self.last_error = end.error or ConnectionError(end.describe())
                kind = close_kind(end.code) if end.code is not None else "retry"
                self._machine.to(S.RECONNECTING, end.describe())
                for sub in self._subs.values():
                    sub._to(S.RECONNECTING, end.describe())
                if kind == "fatal":
                    self._give_up(NetworkError(f"WebSocket {self.url}: {end.describe()} "
                                               "(a client error: not retried)", status=end.code))
                    return
                if kind == "auth":
                    problem = await self._after_forbidden(end, refused_once, refused_payload)
                    if problem is not None:
                        self._give_up(AuthenticationFailed(
                            f"WebSocket {self.url}: {end.describe()}{problem}"))
                        return
                    refused_once, refused_payload = True, end.payload
                    attempts.number += 1  # not counted against max_attempts
                    attempts.plan(0.0, detail="credentials refreshed: reconnect at once")
                    continue
                if attempts.failed():
                    self._give_up(NetworkError(
                        f"WebSocket {self.url}: gave up after {self.max_attempts} reconnect "
                        f"attempts: {self.last_error}"))
                    return
                await asyncio.sleep(attempts.plan())
        finally:
            ws, self._ws = self._ws, None
            self._acked = False
            if ws is not None:
                await _close_socket(ws)

    async def _after_forbidden(self, end: _SessionEnd, refused_once: bool,
                               refused_payload: Any) -> str | None:
        """After a 4403: refresh and return None to reconnect, or say why to give up."""
        if self.refresh is None:
            return ""
        if refused_once:
            return " (refused again after a token refresh)"
        try:
            await resolve(self.refresh)
            self.refreshes += 1
            payload = await resolve(self.init_payload) if self.init_payload is not None else None
        except Exception as exc:  # noqa: BLE001 - the refresh itself failed: say so
            return f" (and the token refresh failed: {exc})"
        self.timeline.record(NOTE, detail="credentials refreshed after 4403")
        if payload == end.payload or (refused_payload is not None and payload == refused_payload):
            return " (refresh gave back the same credentials: not sent again)"
        self._next_payload = payload
        return None

    async def _session(self) -> _SessionEnd:
        """One connection: open, init, ack, (re)subscribe, run until it ends."""
        end = _SessionEnd()
        try:
            if self._next_payload is not None:
                payload, self._next_payload = self._next_payload, None
            else:
                payload = await resolve(self.init_payload) if self.init_payload is not None else {}
            end.payload = payload
            ws = await connect(self.url, subprotocols=[self.subprotocol],
                               open_timeout=self.connect_timeout, ping_interval=None,
                               close_timeout=1.0, proxy=None, max_size=2**22,
                               create_connection=_Tapped)
        except asyncio.CancelledError:
            raise
        except InvalidStatus as exc:
            end.error = ConnectionError(f"handshake refused: HTTP {exc.response.status_code}")
            self.timeline.record(ERROR, data=exc.response.status_code, detail=str(end.error))
            return end
        except Exception as exc:  # noqa: BLE001 - refused, reset, timeout: all worth a retry
            end.error = ConnectionError(f"connect failed: {exc!r}")
            self.timeline.record(ERROR, detail=str(end.error))
            return end
        self._ws = ws
        chosen = ws.subprotocol or self.subprotocol
        self._proto = Protocol(chosen)
        try:
            await ws.send(self._proto.init(payload))
            self.timeline.record(FRAME_OUT, data={"type": "connection_init"},
                                 detail="payload keys: " + ", ".join(sorted(payload or {})))
            await asyncio.wait_for(self._await_ack(ws), self.ack_timeout)
            end.acked_at = time.monotonic()
            self._acked = True
            self.connections += 1
            self._machine.to(S.CONNECTED, f"connection {self.connections} acknowledged")
            await self._run(ws)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            end.error = TimeoutError(f"no connection_ack within {self.ack_timeout}s")
            self.timeline.record(ERROR, detail=str(end.error))
        except ConnectionClosed:
            pass
        finally:
            self._acked = False
            self._ws = None
            pong, self._pong = self._pong, None
            if pong is not None and not pong.done():
                pong.cancel()
            if isinstance(ws, _Tapped):
                ws.tap = None
            rcvd = ws.protocol.close_rcvd
            if rcvd is not None:
                end.code, end.reason = rcvd.code, rcvd.reason
            elif self._dead is not None:
                end.error = self._dead
            self._dead = None
            self.timeline.record(NOTE, detail=end.describe())
            await _close_socket(ws)
        return end

    async def _await_ack(self, ws: ClientConnection) -> None:
        while True:
            incoming = self._decode(await ws.recv())
            if incoming is None:
                continue
            if incoming.kind == "ack":
                self.timeline.record(FRAME_IN, data={"type": "connection_ack"})
                return
            if incoming.kind == "ping":
                await ws.send(self._proto.pong())
            elif incoming.kind == "connection_error":
                self.timeline.record(FRAME_IN, data={"type": "connection_error",
                                                     "payload": incoming.payload})

    def _decode(self, raw: str | bytes) -> Any:
        try:
            return self._proto.receive(raw)
        except ProtocolViolation as exc:
            self.timeline.record(ERROR, data=str(raw)[:200], detail=f"bad frame ignored: {exc}")
            return None

    async def _run(self, ws: ClientConnection) -> None:
        """Subscribe everything, then read (and keep alive) until the link ends."""
        for sub in list(self._subs.values()):
            await self._send_subscribe(ws, sub)
        reader = asyncio.ensure_future(self._reader(ws))
        tasks = [reader]
        if self.keepalive_interval:
            tasks.append(asyncio.ensure_future(self._keepalive(ws)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, TimeoutError):
                    self._dead = outcome  # the keep-alive's verdict, recorded already
                elif isinstance(outcome, Exception) and not isinstance(outcome, ConnectionClosed):
                    self.timeline.record(ERROR, detail=f"session task failed: {outcome!r}")

    async def _send_subscribe(self, ws: ClientConnection, sub: Subscription) -> None:
        """Send ``subscribe`` for ``sub`` unless it already went out on this connection."""
        connection = self.connections
        if sub._sent_on == connection or not sub.active or ws is not self._ws:
            return
        sub._sent_on = connection
        again = sub.subscribes > 0
        frame = self._proto.subscribe(sub.id, sub.query, sub.variables,
                                      sub.operation.operation_name)
        try:
            await ws.send(frame)
        except ConnectionClosed:
            sub._sent_on = 0  # not sent after all: the next connection sends it
            return
        sub.subscribes += 1
        self.subscriptions += 1
        self.resubscriptions += again
        self.timeline.record(FRAME_OUT, data={"type": "subscribe", "id": sub.id,
                                              "operation": sub.name},
                             detail="resubscribed" if again else "subscribed")
        sub._to(S.CONNECTED, f"{'re' if again else ''}subscribed on connection {connection}")

    async def _reader(self, ws: ClientConnection) -> None:
        ws.tap = self._on_frame  # type: ignore[attr-defined]
        try:
            async for raw in ws:
                self._on_frame(raw)
        except ConnectionClosed:
            pass

    def _on_frame(self, raw: str | bytes) -> None:
        """One server message after the ack. Never raises."""
        incoming = self._decode(raw)
        if incoming is None:
            return
        kind = incoming.kind
        if kind == "next":
            sub = self._subs.get(incoming.id)
            if sub is not None:
                payload = incoming.payload
                sub._push(Response(payload.get("data"), payload.get("errors") or [],
                                   payload.get("extensions") or {}))
            return
        if kind == "pong" or kind == "ka":
            pong = self._pong
            if pong is not None and not pong.done():
                pong.set_result(None)
            return
        if kind == "ping":
            ws = self._ws
            if ws is not None:
                asyncio.ensure_future(_quiet_send(ws, self._proto.pong()))
            return
        self.timeline.record(FRAME_IN, data={"type": kind, "id": incoming.id,
                                             "payload": incoming.payload})
        sub = self._subs.pop(incoming.id, None) if incoming.id is not None else None
        if sub is None:
            return
        if kind == "error":
            sub._push(Response(None, incoming.payload))
            message = "; ".join(str(e.get("message", e)) for e in incoming.payload)
            sub._finish(None, S.ERROR, f"refused by the server: {message}")
        elif kind == "complete":
            sub._finish(None, S.DISCONNECTED, "completed by the server")
        if not self._subs:
            asyncio.ensure_future(self._shutdown(complete=[]))

    async def _keepalive(self, ws: ClientConnection) -> None:
        assert self.keepalive_interval
        while True:
            await asyncio.sleep(self.keepalive_interval)
            frame = self._proto.ping()
            try:
                if frame is None:  # legacy graphql-ws: a WebSocket ping frame
                    waiter = await ws.ping()
                else:
                    waiter = self._pong = asyncio.get_running_loop().create_future()
                    await ws.send(frame)
                await asyncio.wait_for(waiter, self.keepalive_timeout)
            except TimeoutError:
                detail = f"no pong within {self.keepalive_timeout}s: link presumed dead"
                self.timeline.record(NOTE, detail=detail)
                ws.transport.abort()
                raise TimeoutError(detail) from None
            except ConnectionClosed:
                return


async def _quiet_send(ws: ClientConnection, frame: str) -> None:
    try:
        await ws.send(frame)
    except ConnectionClosed:
        pass


async def _close_socket(ws: ClientConnection) -> None:
    try:
        await asyncio.wait_for(ws.close(), 1.0)
    except (Exception, asyncio.CancelledError):  # noqa: BLE001
        ws.transport.abort()


__all__ = ["LEGACY_WS", "TRANSPORT_WS", "AuthenticationFailed", "Subscription",
           "SubscriptionClosed", "WebSocketLink"]
