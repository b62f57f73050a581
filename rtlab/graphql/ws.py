"""``WebSocketLink``: GraphQL subscriptions that survive drops, frozen servers and token expiry.

One WebSocket carries every subscription of a link (``graphql-transport-ws``, or legacy
``graphql-ws`` with ``subprotocol=LEGACY_WS``). What it adds to a bare protocol client, and
records on :class:`~rtlab.state.Timeline`\\ s so widgets and tests can watch:

* **Fresh credentials.** ``init_payload`` may be a callable (sync or async), called for
  every connection, so a reconnect carries the current token, not the one of the first
  connect.
* **Resubscribe, exactly once.** After a drop the link reconnects with an
  :mod:`rtlab.backoff` policy, decided by :mod:`rtlab.reconnect` like every rtlab client
  (attempts numbered from 1 after each drop, reset by an acknowledged connection;
  ``max_attempts`` to give up) and sends ``subscribe`` again for
  every active subscription: each is sent once per connection (a per-connection mark, not
  a guess), and its ``subscribes`` counter says how often in all.
* **Credentials refused (4403): refresh, never repeat.** The same token would be refused
  again, so the link calls ``refresh`` and reconnects with the new ``init_payload``. If
  there is no ``refresh``, if it fails, if it hands back the refused payload, or if the
  refreshed credentials are refused too (a 4403 before or within ``auth_window`` seconds of
  the acknowledgement), the link gives up: every subscription ends with
  :class:`~rtlab.errors.AuthenticationFailed` saying what the server said. A session that
  lived longer than ``auth_window`` before its 4403 (a token that *expired*) counts as a
  fresh failure, so a long stream refreshes as often as its tokens expire.
* **What cannot get better, stops.** Close codes that name the client's own mistake
  (:func:`~rtlab.graphql.wsprotocol.close_kind` ``fatal``: 4400, 4401, 4406, 4409, 4429,
  as the graphql-ws client decides) and handshakes no retry can fix (a URL that is not a
  WebSocket URL, a 4xx answer other than 408/429: a wrong path) stop at once: every
  subscription ends with :class:`~rtlab.errors.ConnectionFailed` naming the cause.
* **Heartbeat with a stated bound.** Every ``heartbeat_interval`` seconds a ``ping``
  (the protocol's own on graphql-transport-ws, so the GraphQL handler itself must answer;
  a WebSocket ping frame on legacy graphql-ws, which has none); no ``pong`` within
  ``heartbeat_timeout`` and the link is presumed dead and aborted. A frozen server is
  therefore noticed within ``heartbeat_interval + heartbeat_timeout`` seconds.
* **Honest states, per subscription.** The link's timeline holds the connection's states,
  attempts and control frames; each :class:`Subscription` has a timeline of its own with
  its states and its events. A subscription is ``connected`` once its ``subscribe`` was
  written on an acknowledged connection (the protocol has no per-subscription ack; a
  refusal arrives as ``error`` and moves it to ``error``), ``reconnecting`` while the link
  is down, ``disconnected`` when cancelled or completed. A refusal is not an event: it is
  an ``error`` on the subscription's timeline, ``events`` does not count it, and
  :meth:`Subscription.wait_live` raises :class:`~rtlab.errors.SubscriptionRefused`.
* **Independent lifetimes.** Cancelling one subscription (``complete`` to the server)
  leaves the others running; when none remain the socket is closed, and the next
  subscription opens a new one. A subscription started while the idle socket is being
  closed (right after the last one completed) waits for that close and opens the next
  socket at once: the supervisor alone decides when a socket ends.

Why on ``websockets`` rather than gql's ``WebsocketsTransport``: gql's transport takes a
fixed ``init_payload`` at construction, ends every subscription when its socket drops and
keeps no list to resubscribe from; its connection and its subscriptions share one
lifetime. Resubscription needs the subscriptions to outlive the socket, so this module owns
both, with the wire format in a pure core (:mod:`rtlab.graphql.wsprotocol`) that unit
tests drive without a socket, and the socket plumbing (open, heartbeat, close) shared with
:mod:`rtlab.ws` in :mod:`rtlab.wsconnection`. The benchmark
(``benchmarks/graphql_subscriptions.py``) measures the cost against gql on the same stream.

Knobs and gql's names for the same thing (``gql.transport.websockets.WebsocketsTransport``
and ``Client.connect_async(reconnecting=True, retry_connect=...)``):

=========================  ===============================================================
rtlab                      gql
=========================  ===============================================================
``heartbeat_interval``     ``ping_interval`` (graphql-transport-ws pings)
``heartbeat_timeout``      ``pong_timeout`` (gql's ``keep_alive_timeout`` is the longest
                           silence between the server's own ``ka`` messages instead)
``connect_timeout``        ``connect_timeout``
``ack_timeout``            ``ack_timeout``
``policy``                 ``retry_connect=tenacity.retry(wait=...)``
``max_attempts``           ``retry_connect=tenacity.retry(stop=stop_after_attempt(n))``
``inbox_size``             none: results wait in an unbounded ``asyncio.Queue``
``close()``                ``Client.close_async()``
=========================  ===============================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from rtlab.backoff import Policy
from rtlab.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    NetworkError,
    SubscriptionClosed,
    SubscriptionRefused,
)
from rtlab.graphql.links import ForwardStream, Link, Operation, Response
from rtlab.graphql.wsprotocol import (
    LEGACY_WS,
    SUBPROTOCOLS,
    TRANSPORT_WS,
    Protocol,
    ProtocolViolation,
    close_kind,
    describe_close,
)
from rtlab.knobs import non_negative, positive, positive_or_none
from rtlab.outbox import Inbox, WithInbox, until_end
from rtlab.reconnect import Decision, Happened, Outcome, Reconnect
from rtlab.sources import resolve
from rtlab.state import (
    ERROR,
    FRAME_IN,
    FRAME_OUT,
    NOTE,
    STATE,
    ConnectionState,
    Event,
    StateMachine,
    Timeline,
)
from rtlab.supervised import Reconnecting, drive, now
from rtlab.waiting import until
from rtlab.wsconnection import (
    OpenFailed,
    TappedConnection,
    close_socket,
    heartbeat,
    open_connection,
    read_messages,
    run_session,
)

Payload = Mapping[str, Any] | Callable[[], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]
Refresh = Callable[[], Any]

S = ConnectionState
H = Happened

#: How long :meth:`Subscription.wait_live` gives the server to refuse a ``subscribe`` (the
#: protocol acknowledges none; a refusal comes back within a round trip).
SETTLE = 0.1


class Subscription(WithInbox):
    """One subscription of a :class:`WebSocketLink`: an async iterator of :class:`Response`.

    Hot: it is registered (and the link connects) as soon as it is created. ``timeline``
    holds its states and, as ``in`` events, each result's ``data``. Results wait in an
    inbox of ``inbox_size`` items for whoever iterates (the oldest dropped, counted in
    ``inbox_dropped`` and noted, when nobody reads); ``inbox_size=0`` keeps none, for
    subscriptions only watched through the timeline or ``listeners``. ``listeners`` are
    called with each :class:`Response` as it arrives (the GraphQL client writes the cache
    there).

    Iteration ends when the server completes the subscription, after a GraphQL ``error``
    (yielded as a response with ``errors``; then ``refusal`` holds it as a
    :class:`~rtlab.errors.SubscriptionRefused`, and ``events`` does not count it), or when
    it is cancelled; it raises :class:`~rtlab.errors.ConnectionFailed`
    (:class:`~rtlab.errors.AuthenticationFailed` for refused credentials) when the link
    gave up.
    """

    def __init__(self, link: WebSocketLink, op: Operation, ident: str, inbox_size: int) -> None:
        self.link, self.operation, self.id = link, op, ident
        self.name = op.operation_name or _root_field(op) or "subscription"
        self.query = op.query
        self.variables = dict(op.variables)
        self.timeline = Timeline(maxlen=2000)
        self._machine = StateMachine(self.timeline)
        self._inbox: Inbox[Response] = Inbox(inbox_size, self.timeline, what="results",
                                             hint="iterate or raise inbox_size")
        self.listeners: list[Callable[[Response], Any]] = []
        self.events = 0
        self.subscribes = 0  # how many times ``subscribe`` went on the wire (once per connection)
        self.error: BaseException | None = None
        self.refusal: SubscriptionRefused | None = None
        self._sent_on = 0  # the connection number it was last sent on
        self._sent_at = 0.0  # when (on the clients' clock) it was last sent

    def __repr__(self) -> str:
        return f"<Subscription {self.id} {self.name} {self.state.value} events={self.events}>"

    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def active(self) -> bool:
        return not self._inbox.ended

    def _to(self, state: ConnectionState, detail: str = "") -> None:
        if self.active or state in (S.DISCONNECTED, S.ERROR):
            self._machine.to(state, detail)

    # -- from the link -------------------------------------------------------------------------
    def _push(self, response: Response) -> None:
        self.events += 1
        self.timeline.frame(FRAME_IN, response.data if not response.errors
                            else {"errors": response.errors})
        self._hand_out(response)

    def _hand_out(self, response: Response) -> None:
        """To the listeners (the GraphQL client writes its cache there), then the inbox."""
        for listener in self.listeners:
            try:
                listener(response)
            except Exception as exc:  # noqa: BLE001 - a listener must not kill the stream
                self.timeline.record(ERROR, detail=f"listener failed: {exc!r}")
        self._inbox.put(response)

    def _refuse(self, errors: list[dict[str, Any]]) -> None:
        """The server answered ``subscribe`` with ``error``: not an event, an end."""
        message = "; ".join(str(e.get("message", e)) for e in errors) or "no message"
        detail = f"refused by the server: {message}"
        self.timeline.record(ERROR, data={"errors": errors}, detail=detail)
        self._hand_out(Response(None, errors))
        self._finish(None, S.ERROR, detail)
        self.refusal = SubscriptionRefused(f"{self.name} was {detail}", errors)
        self.error = self.refusal

    def _finish(self, error: BaseException | None, state: ConnectionState, detail: str) -> None:
        if not self.active:
            return
        self.error = error
        self._inbox.end(error if error is not None else StopAsyncIteration())
        self._to(state, detail)

    # -- for the consumer ------------------------------------------------------------------------
    async def next(self) -> Response:
        """The next result; ``StopAsyncIteration`` at the end, the link's error if it gave up."""
        return await self._inbox.get()

    __anext__ = next

    def __aiter__(self) -> AsyncIterator[Response]:
        return until_end(self.next, finish=self.cancel)

    async def wait_live(self, timeout: float | None = 10.0, settle: float = SETTLE) -> None:
        """Wait until the subscription is live: its ``subscribe`` is on an acknowledged
        connection (state ``connected``) and the server did not refuse it within ``settle``
        seconds of sending (the first result ends that wait at once).

        The protocol acknowledges no ``subscribe``: a refusal (a validation error, a
        missing variable) comes back as ``error`` within a round trip, so ``settle`` is
        the time given to it. Raises :class:`~rtlab.errors.SubscriptionRefused` with the
        server's message when it was refused, :class:`~rtlab.errors.SubscriptionClosed`
        when it ended otherwise first (the link gave up, it completed or was cancelled),
        ``TimeoutError`` after ``timeout`` seconds.
        """
        positive_or_none("timeout", timeout)
        non_negative("settle", settle)
        deadline = None if timeout is None else now() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - now())

        while self.active:
            await until(self.timeline,
                        lambda _t: self.state is S.CONNECTED or not self.active, left())
            grace = self._sent_at + settle - now()
            if self.state is S.CONNECTED and not self.events and grace > 0:
                remaining = left()
                with contextlib.suppress(TimeoutError):
                    await until(self.timeline,
                                lambda _t: bool(self.events) or self.state is not S.CONNECTED,
                                grace if remaining is None else min(grace, remaining))
            if self.state is S.CONNECTED or not self.active:
                break
        if self.refusal is not None:
            raise self.refusal
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
        self.acked = False
        self.code: int | None = None
        self.reason = ""
        self.error: BaseException | None = None
        self.payload: Any = None
        self.idle = False  # ended because no subscription was left
        self.fatal = False  # a handshake no retry can fix
        self.status: int | None = None  # the HTTP status of a refused handshake

    def describe(self) -> str:
        if self.error is not None and self.code is None:
            return str(self.error)
        return describe_close(self.code, self.reason)

    def outcome(self) -> Outcome:
        """What the reconnect core hears: refused credentials, a client error, or a drop."""
        if self.fatal:
            return Outcome(H.FATAL, self.describe(), self.status)
        kind = close_kind(self.code) if self.code is not None else "retry"
        if kind == "auth":
            return Outcome(H.REFUSED, self.describe(), self.code)
        if kind == "fatal":
            return Outcome(H.FATAL, f"{self.describe()} (a client error: not retried)",
                           self.code)
        return Outcome(H.DROPPED if self.acked else H.FAILED, self.describe(), self.code)


class WebSocketLink(Reconnecting, Link):
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
        heartbeat_interval: float | None = 10.0,
        heartbeat_timeout: float = 5.0,
        auth_window: float = 1.0,
        connect_timeout: float = 5.0,
        ack_timeout: float = 5.0,
        inbox_size: int = 10_000,
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "graphql-ws",
    ) -> None:
        if subprotocol not in SUBPROTOCOLS:
            raise ValueError(f"subprotocol must be one of {SUBPROTOCOLS}, got {subprotocol!r}")
        if isinstance(inbox_size, bool) or not isinstance(inbox_size, int) or inbox_size < 0:
            raise ValueError(f"inbox_size must be an integer >= 0, got {inbox_size!r}")
        self.url = url
        self.init_payload = init_payload
        self.refresh = refresh
        self.subprotocol = subprotocol
        self.heartbeat_interval = positive_or_none("heartbeat_interval", heartbeat_interval)
        self.heartbeat_timeout = positive("heartbeat_timeout", heartbeat_timeout)
        self.auth_window = non_negative("auth_window", auth_window)
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        self.ack_timeout = positive("ack_timeout", ack_timeout)
        self.inbox_size = inbox_size
        self.name = name
        self.timeline = timeline if timeline is not None else Timeline()
        self._core = Reconnect(policy, self.timeline, max_attempts=max_attempts, rng=rng,
                               can_refresh=refresh is not None, refresh_window=auth_window)
        self.timeline.subscribe(self._follow)
        self._ids = itertools.count(1)
        self._subs: dict[str, Subscription] = {}
        self._ws: ClientConnection | None = None
        self._proto = Protocol(subprotocol)
        self._acked = False
        self._idle = asyncio.Event()  # set when the last subscription went away
        self._winding_down = False  # the live socket is closing: no subscription left
        self._supervisor: asyncio.Task[None] | None = None
        self._pong: asyncio.Future[None] | None = None
        self._next_payload: Any = None
        self._refused_payload: Any = None  # refused before the last refresh
        self._last_refused: Any = None  # refused by the last 4403
        self._dead: TimeoutError | None = None
        self.last_error: BaseException | None = None
        self.connections = 0  # acknowledged connections
        self.subscriptions = 0  # ``subscribe`` messages sent, first and re-sent
        self.resubscriptions = 0  # of which re-sent after a reconnect
        self.refreshes = 0

    # -- public API ------------------------------------------------------------------------------
    @property
    def active(self) -> list[Subscription]:
        """The subscriptions still running, in the order they were made."""
        return list(self._subs.values())

    @property
    def detection_bound(self) -> float | None:
        """Seconds within which a frozen server is noticed (None: no heartbeat)."""
        if not self.heartbeat_interval:
            return None
        return self.heartbeat_interval + self.heartbeat_timeout

    async def request(self, op: Operation, forward: Any = None) -> Response:
        raise NetworkError(f"WebSocketLink carries subscriptions only, not a {op.kind}: "
                           "split queries and mutations off to HTTP")

    def subscribe(self, op: Operation, forward: ForwardStream | None = None) -> Subscription:
        """Start a subscription now; returns it (iterate it, or follow its timeline)."""
        inbox_size = int(op.context.get("inbox_size", self.inbox_size))
        sub = Subscription(self, op, str(next(self._ids)), inbox_size)
        self._subs[sub.id] = sub
        sub._to(S.CONNECTING)
        self.timeline.record(NOTE, data={"id": sub.id, "operation": sub.name},
                             detail=f"subscription {sub.id} added")
        if self._ws is not None and self._acked and not self._winding_down:
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

    def _follow(self, event: Event) -> None:
        """While the link is (re)connecting, so is every subscription on it."""
        if event.kind == STATE and event.state in (S.CONNECTING, S.RECONNECTING):
            for sub in self._subs.values():
                sub._to(event.state, event.detail)

    async def _cancel(self, sub: Subscription) -> None:
        if self._subs.get(sub.id) is not sub:
            sub._finish(None, S.DISCONNECTED, "cancelled")
            return
        sub._finish(None, S.DISCONNECTED, "cancelled by the client")
        self.timeline.record(NOTE, data={"id": sub.id, "operation": sub.name},
                             detail=f"subscription {sub.id} cancelled")
        await self._complete(sub)
        if not self._subs:
            await self._wind_down()

    def _forget(self, ident: str) -> Subscription | None:
        """Take a subscription off the link; the last one going wakes the idle watcher."""
        sub = self._subs.pop(ident, None)
        if not self._subs:
            self._idle.set()
        return sub

    async def _complete(self, sub: Subscription) -> None:
        """Send ``complete`` for ``sub`` if the server has it on this connection, then
        take it off the link."""
        ws = self._ws
        if (ws is not None and self._acked and sub._sent_on == self.connections
                and not self._winding_down):
            frame = self._proto.complete(sub.id)
            try:
                await ws.send(frame)
                self.timeline.record(FRAME_OUT, data={"type": "complete", "id": sub.id})
            except ConnectionClosed:
                pass  # the socket is gone: the server forgets the subscription anyway
        if self._subs.get(sub.id) is sub:
            self._forget(sub.id)

    async def _wind_down(self) -> None:
        """The last subscription went away: end the socket and the supervisor. A live
        session ends by itself (its idle watcher wakes); a link still connecting or waiting
        to reconnect is stopped at once. Returns early if a new subscription arrives."""
        task = self._supervisor
        if task is None or task.done():
            return
        if self._core.state is S.CONNECTED:
            self._idle.set()
            await until(self.timeline,
                        lambda _t: self._supervisor is not task or bool(self._subs))
        else:
            await self._stop(task, "no subscription left")

    async def _stop(self, task: asyncio.Task[None], reason: str) -> None:
        """Cancel the supervisor ``task``; the link is ``disconnected`` before anything else
        runs, so a subscription made meanwhile starts a fresh life, not a clash."""
        if self._supervisor is task:
            self._supervisor = None
        task.cancel()
        self._core.step(H.CLOSED, now(), reason)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _shutdown(self, complete: list[Subscription]) -> None:
        """``close()``: complete the last subscriptions, stop the supervisor, close the
        socket (the session closes its own on the way out)."""
        for sub in complete:
            await self._complete(sub)
        self._subs.clear()
        task = self._supervisor
        if task is not None and not task.done():
            await self._stop(task, "closed by the client")
        else:
            self._core.step(H.CLOSED, now(), "closed by the client")

    def _give_up(self, decision: Decision) -> None:
        """The core said stop in ``error``: every subscription ends with the reason."""
        auth = decision.status is not None and close_kind(decision.status) == "auth"
        error = (AuthenticationFailed if auth else ConnectionFailed)(
            f"WebSocket {self.url}: {decision.reason}", decision.status)
        self.last_error = error
        self.timeline.record(ERROR, data=decision.status, detail=str(error))
        for sub in list(self._subs.values()):
            sub._finish(error, S.ERROR, str(error))
        self._subs.clear()

    # -- the connection loop: what the reconnect core decides -------------------------------------
    async def _supervise(self) -> None:
        """Lives of the link, one after another, while subscriptions want one: a life ends
        when the core says stop; subscriptions that arrived while an idle socket closed
        start the next life at once."""
        me = asyncio.current_task()
        try:
            while True:
                try:
                    decision = await drive(self._core, attempt=self._attempt,
                                           pause=asyncio.sleep, refresh=self._refresh,
                                           stopping=self._stopping)
                except Exception as exc:  # a bug or a failing callback: say so, and stop
                    decision = self._core.step(H.FATAL, now(), f"unexpected failure: {exc!r}")
                if decision.happened is not H.CLOSED:
                    self._give_up(decision)
                    return
                if not self._subs:
                    return
                self.timeline.record(NOTE, detail="a subscription arrived while the idle "
                                     "socket closed: opening a new one")
        finally:
            if self._supervisor is me:
                self._supervisor = None

    def _stopping(self) -> str:
        return "" if self._subs else "no subscription left"

    async def _attempt(self) -> Outcome:
        end = await self._session()
        if end.idle or not self._subs:
            return Outcome(H.CLOSED, "no subscription left")
        self.last_error = end.error or ConnectionError(end.describe())
        outcome = end.outcome()
        if outcome.happened is H.REFUSED:
            self._last_refused = end.payload
        return outcome

    async def _refresh(self) -> Outcome:
        """After a 4403: fresh credentials (REFRESHED), or why not (FATAL)."""
        assert self._core.last is not None and self.refresh is not None
        refused, status = self._core.last.reason, self._core.last.status
        try:
            await resolve(self.refresh)
            self.refreshes += 1
            payload = await resolve(self.init_payload) if self.init_payload is not None else None
        except Exception as exc:  # noqa: BLE001 - the refresh itself failed: say so
            return Outcome(H.FATAL, f"{refused} (and the token refresh failed: {exc})", status)
        self.timeline.record(NOTE, detail="credentials refreshed after 4403")
        if payload == self._last_refused or (self._refused_payload is not None
                                            and payload == self._refused_payload):
            return Outcome(H.FATAL, f"{refused} (refresh gave back the same credentials: "
                           "not sent again)", status)
        self._refused_payload, self._next_payload = self._last_refused, payload
        return Outcome(H.REFRESHED, "credentials refreshed")

    async def _session(self) -> _SessionEnd:
        """One connection: open, init, ack, (re)subscribe, run until it ends."""
        end = _SessionEnd()
        try:
            if self._next_payload is not None:
                payload, self._next_payload = self._next_payload, None
            else:
                payload = await resolve(self.init_payload) if self.init_payload is not None else {}
        except Exception as exc:  # noqa: BLE001 - a failing payload source: worth a retry
            end.error = ConnectionError(f"connect failed: {exc!r}")
            self.timeline.record(ERROR, detail=str(end.error))
            return end
        end.payload = payload
        ws = await open_connection(self.url, self.timeline, connect_timeout=self.connect_timeout,
                                   subprotocols=[self.subprotocol], max_size=2**22)
        if isinstance(ws, OpenFailed):
            end.error = ConnectionError(ws.detail)
            end.fatal, end.status = ws.fatal, ws.status
            return end
        self._winding_down = False
        self._ws = ws
        chosen = ws.subprotocol or self.subprotocol
        self._proto = Protocol(chosen)
        try:
            await ws.send(self._proto.init(payload))
            self.timeline.record(FRAME_OUT, data={"type": "connection_init"},
                                 detail="payload keys: " + ", ".join(sorted(payload or {})))
            await asyncio.wait_for(self._await_ack(ws), self.ack_timeout)
            end.acked = self._acked = True
            self.connections += 1
            self._core.step(H.OPENED, now(), f"connection {self.connections} acknowledged")
            await self._run(ws)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            end.error = TimeoutError(f"no connection_ack within {self.ack_timeout}s")
            self.timeline.record(ERROR, detail=str(end.error))
        except ConnectionClosed:
            pass
        finally:
            end.idle = self._winding_down
            if self._ws is ws:  # (a newer session may own the link's fields by now)
                self._acked, self._ws, self._winding_down = False, None, False
                pong, self._pong = self._pong, None
                if pong is not None and not pong.done():
                    pong.cancel()
            if end.idle:  # our own close, not the server's: say so, then close
                self.timeline.record(NOTE, detail="no subscription left: closing the socket")
                await close_socket(ws)
            else:
                rcvd = ws.protocol.close_rcvd
                if rcvd is not None:
                    end.code, end.reason = rcvd.code, rcvd.reason
                elif self._dead is not None:
                    end.error = self._dead
                self.timeline.record(NOTE, detail=end.describe())
            self._dead = None
            await close_socket(ws)
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

    async def _run(self, ws: TappedConnection) -> None:
        """Subscribe everything, then read (and heartbeat) until the link ends."""
        for sub in list(self._subs.values()):
            await self._send_subscribe(ws, sub)
        jobs = [read_messages(ws, self._on_frame), self._until_idle()]
        if self.heartbeat_interval:
            jobs.append(heartbeat(ws, self.heartbeat_interval, self.heartbeat_timeout,
                                  self.timeline, self._on_dead, ping=lambda: self._ping(ws)))
        await run_session(self.timeline, *jobs)

    def _on_dead(self, verdict: TimeoutError) -> None:
        self._dead = verdict

    async def _until_idle(self) -> None:
        """Returns once no subscription is left: the session then closes its socket."""
        while self._subs:
            self._idle.clear()
            await self._idle.wait()
        self._winding_down = True

    async def _ping(self, ws: ClientConnection) -> Awaitable[Any]:
        """The protocol's own ``ping`` (its ``pong`` comes through the reader), or on legacy
        graphql-ws, which has none, a WebSocket ping frame."""
        frame = self._proto.ping()
        if frame is None:
            return await ws.ping()
        waiter = self._pong = asyncio.get_running_loop().create_future()
        await ws.send(frame)
        return waiter

    async def _send_subscribe(self, ws: ClientConnection, sub: Subscription) -> None:
        """Send ``subscribe`` for ``sub`` unless it already went out on this connection."""
        connection = self.connections
        if (sub._sent_on == connection or not sub.active or ws is not self._ws
                or self._winding_down):
            return
        sub._sent_on, sub._sent_at = connection, now()
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
        sub = self._subs.get(incoming.id) if incoming.id is not None else None
        if sub is None or kind not in ("error", "complete"):
            return
        del self._subs[sub.id]
        if kind == "error":
            sub._refuse(incoming.payload)
        else:
            sub._finish(None, S.DISCONNECTED, "completed by the server")
        # Woken after its reader: a subscription started at once reuses this socket.
        self._forget(sub.id)


async def _quiet_send(ws: ClientConnection, frame: str) -> None:
    try:
        await ws.send(frame)
    except ConnectionClosed:
        pass


__all__ = ["LEGACY_WS", "TRANSPORT_WS", "AuthenticationFailed", "ConnectionFailed",
           "Subscription", "SubscriptionClosed", "WebSocketLink"]
