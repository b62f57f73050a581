"""``SocketIOClient``: python-socketio's ``AsyncClient`` with what a real-time app needs.

python-socketio speaks the protocol (Engine.IO 4, long-polling upgraded to WebSocket,
namespaces multiplexed on one connection, acks). It reconnects by itself, but invisibly
(no attempt events), with jitter of a fixed ±``randomization_factor`` *seconds* where the
JavaScript client scales it with the delay; ``emit`` while disconnected raises; pending
acks are forgotten when the link drops; and ``disconnect()`` on long-polling can wait for
the open poll (tens of seconds). This shell drives reconnection itself and records every
step on a :class:`~rtlab.state.Timeline`, in the vocabulary of :mod:`rtlab.ws`:

* **Honest states.** ``connected`` once every namespace has accepted the connection;
  the transport in use is part of the event (``detail="via polling"``) and
  :attr:`SocketIOClient.transport`. Transports default to ``("polling", "websocket")``:
  start on polling, then try to upgrade. A blocked upgrade leaves the client on polling;
  a client that starts with ``websocket`` has no way back (see notebook 05).
* **Reconnect** with any :mod:`rtlab.backoff` policy, decided by :mod:`rtlab.reconnect`:
  ``backoff`` (planned delay) and ``attempt`` (actual wait) events for each try, so
  ``BackoffTimeline`` draws them; ``max_attempts`` gives up in ``error``.
* **What the server decides, stands** (as in socket.io-client, whose socket drops its
  reconnect subscriptions on both): a connection refused by the server's middleware or
  connect handler (``connect_error``, whatever its code) ends in ``error`` at once,
  :class:`~rtlab.errors.ConnectionFailed` carrying the server's message; a server-side
  disconnect (``io server disconnect``; python-socketio says ``server disconnect``) ends in
  ``disconnected``, no reconnect, the reason on the timeline and in the error that pending
  calls and ``wait_for`` raise. The one exception is decided by the reconnect table's
  ``refused`` rows: a token refused as ``UNAUTHENTICATED`` gets one fresh try when there
  is a way to fresh credentials (``refresh=``, or ``auth``/``token`` given as a callable,
  asked again before every attempt), never the same credentials twice; a second refusal,
  or none possible, ends in :class:`~rtlab.errors.AuthenticationFailed`. So does a
  handshake answered with a 4xx other than 408/429 (a wrong ``socketio_path``: 404; a
  proxy that refuses WebSocket upgrades to a WebSocket-only client: 403).
* **Handlers survive.** :meth:`on` may be called before :meth:`connect`, and handlers
  stay registered across reconnects (each attempt builds a fresh library client and
  installs them). ``on("connect", fn)`` runs after every (re)connect, before buffered
  messages are flushed: the place to re-join rooms, which the server forgot.
* **Send buffer.** :meth:`emit` and :meth:`call` never lose a message silently: while
  offline they wait in a buffer of at most ``queue_size`` (``"reject"`` raises
  :class:`~rtlab.errors.QueueFull`, ``"drop-oldest"`` drops with a ``note``), flushed in
  order on reconnect (the same :class:`~rtlab.outbox.Outbox` as ``rtlab.ws``). A plain
  ``emit`` written just before a link dies may be lost (at most once); :meth:`call` waits
  for the server's ack and re-sends after a drop.
* **Acks with a timeout and retries.** :meth:`call` waits ``ack_timeout`` seconds for
  the ack once the message is on the wire, re-sends up to ``ack_retries`` times, then
  raises :class:`~rtlab.errors.AckTimeout`. A re-send can duplicate work the server
  already did: give the payload an idempotency key (the demo server dedupes ``clientId``).
* **Prompt close.** :meth:`close` tells the server (``grace`` seconds at most), then
  aborts: it returns promptly on long-polling too, and leaves no task or HTTP session.

Knobs and python-socketio's names for the same thing (``socketio.AsyncClient``):

=========================  ===============================================================
rtlab                      python-socketio
=========================  ===============================================================
``policy``                 ``reconnection_delay``, ``reconnection_delay_max``,
                           ``randomization_factor`` (rtlab passes ``reconnection=False``
                           and drives reconnection itself)
``max_attempts``           ``reconnection_attempts`` (its 0 means forever: rtlab's None)
``refresh``                none: a refused connection is not retried
``connect_timeout``        ``connect(wait_timeout=...)``: every namespace accepted in time
``ack_timeout``            ``call(timeout=...)``
``queue_size``,            none: ``emit`` while disconnected raises ``BadNamespaceError``
``overflow``
``close()``                ``disconnect()``
heartbeat                  Engine.IO's, set by the server (``pingInterval``,
                           ``pingTimeout`` in its handshake): no client knob
=========================  ===============================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import socketio

from rtlab.auth import LAB_ENDPOINTS, AuthEndpoints, login
from rtlab.backoff import Policy
from rtlab.engineio_fix import SocketIOAsyncClient
from rtlab.errors import AckTimeout, ClientClosed, ConnectionFailed, QueueFull
from rtlab.knobs import count, non_negative, positive
from rtlab.outbox import Outbox, Overflow, WithOutbox
from rtlab.reconnect import Decision, Happened, Outcome, status_outcome
from rtlab.sources import resolve, settle
from rtlab.state import ERROR, FRAME_IN, FRAME_OUT, NOTE, ConnectionState, Timeline
from rtlab.supervised import Supervised

S = ConnectionState
H = Happened
AuthSource = dict[str, Any] | Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]]
TokenSource = str | Callable[[], str | Awaitable[str]]
RESERVED = frozenset({"connect", "disconnect"})

_DROPPED = object()  # an ack future's result when the link died before the ack came
_in_hook: contextvars.ContextVar[bool] = contextvars.ContextVar("rtlab_sio_hook", default=False)


def fresh_login(base_url: str, username: str, password: str = "password",
                timeout: float = 5.0, *,
                endpoints: AuthEndpoints = LAB_ENDPOINTS) -> Callable[[], Awaitable[str]]:
    """A ``token`` source that logs in before every attempt (at ``/auth/login`` unless
    ``endpoints`` names another server's path and fields).

    The demo server signs with a per-process secret, so a restart refuses old tokens:
    a client given this function comes back signed in.
    """

    async def token() -> str:
        answer = await login(base_url, username, password, endpoints=endpoints,
                             timeout=timeout)
        return answer[endpoints.access_token_field]

    return token


def library_delays(attempts: int, delay: float = 1.0, delay_max: float = 5.0,
                   randomization: float = 0.5, rng: random.Random | int | None = None
                   ) -> list[float]:
    """What python-socketio 5 waits before each reconnect attempt (its ``_handle_reconnect``).

    Doubling from ``delay``, capped at ``delay_max``, then ``± randomization`` *seconds*:
    a fixed ±0.5 s whatever the delay (and below 0.5 s, possibly no wait at all).
    """
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    out = []
    for n in range(attempts):
        d = min(delay * 2**n, delay_max)
        out.append(max(0.0, d + randomization * (2 * r.random() - 1)))
    return out


def js_client_delays(attempts: int, delay: float = 1.0, delay_max: float = 5.0,
                     randomization: float = 0.5, rng: random.Random | int | None = None
                     ) -> list[float]:
    """What socket.io-client (and the Dart port the chapter uses) waits: its ``Backoff``.

    ``delay * 2**n`` moved by up to ``randomization`` times itself, *then* capped at
    ``delay_max``: once the uncapped delay passes the cap, most draws land exactly on
    it, and a crowd retries in step again. (Millisecond rounding left out.)
    """
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    out = []
    for n in range(attempts):
        d = delay * 2**n
        draw = r.random()
        deviation = draw * randomization * d
        d = d - deviation if int(draw * 10) % 2 == 0 else d + deviation
        out.append(min(d, delay_max))
    return out


_STATUS_IN_WORDS = re.compile(r"status code (\d{3})")


def handshake_status(exc: BaseException) -> int | None:
    """The HTTP status behind a failed Engine.IO handshake, if the server answered one:
    python-engineio says it in words (polling) or keeps aiohttp's error as the cause
    (WebSocket)."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        status = getattr(error, "status", None)
        if isinstance(status, int) and 100 <= status <= 599:
            return status
        found = _STATUS_IN_WORDS.search(str(error))
        if found:
            return int(found.group(1))
        error = error.__cause__ or error.__context__
    return None


def refusal_words(data: Any) -> tuple[str, Any]:
    """A ``connect_error`` payload as (the server's message, its code or None)."""
    if isinstance(data, dict):
        extra = data.get("data")
        code = data.get("code") or (extra.get("code") if isinstance(extra, dict) else None)
        message = str(data.get("message", data))
        if extra is not None:
            message += f" {extra}"
        return message, code
    return str(data), None


@dataclass(slots=True, eq=False)
class _Outgoing:
    seq: int
    event: str
    data: Any
    namespace: str
    wants_ack: bool
    written: asyncio.Future[None] | None = None  # None = on the wire (or never waited for)
    ack: asyncio.Future[Any] | None = None

    def key_of(self) -> int | None:
        """What its ack names (None: nothing acknowledges a plain emit)."""
        return self.seq if self.wants_ack else None

    def frame(self) -> dict[str, Any]:
        frame = {"event": self.event, "data": self.data}
        if self.namespace != "/":
            frame["namespace"] = self.namespace
        return frame


class SocketIOClient(WithOutbox, Supervised):
    """A Socket.IO client that reconnects visibly, buffers, retries acks (see module docs).

    ``url`` is the server's base URL (``http://host:port``; through a proxy, the
    proxy's). ``namespaces`` defaults to ``/`` plus every namespace a handler was
    registered for by the time :meth:`connect` runs. ``auth`` is the Socket.IO auth
    payload (a dict, or a function returning one, called before every attempt);
    ``token`` is a shortcut for ``auth={"token": token}`` and may be a function too
    (e.g. ``rtlab.auth.TokenManager(...).token``). ``refresh`` (e.g.
    ``TokenManager(...).refresh``) is called once after the server refuses the token,
    before the one fresh try.
    """

    task_label = "rtlab-socketio"

    def __init__(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: AuthSource | None = None,
        token: TokenSource | None = None,
        refresh: Callable[[], Any] | None = None,
        transports: Iterable[str] = ("polling", "websocket"),
        policy: Policy | None = None,
        max_attempts: int | None = None,
        queue_size: int = 1000,
        overflow: Overflow = "reject",
        ack_timeout: float = 5.0,
        ack_retries: int = 2,
        connect_timeout: float = 5.0,
        grace: float = 0.5,
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "",
        socketio_path: str = "socket.io",
        **client_options: Any,
    ) -> None:
        if auth is not None and token is not None:
            raise ValueError("give auth or token, not both")
        self.transports = tuple(transports)
        if not self.transports or set(self.transports) - {"polling", "websocket"}:
            raise ValueError(f"transports must be 'polling' and/or 'websocket', got {transports}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "ws://",
                                                          "wss://")):
            raise ValueError(f"url must be the server's base URL, http://host:port (or "
                             f"https://, ws://, wss://), got {url!r}")
        self.url = url
        self.name = name or url
        self.namespaces = tuple(namespaces) if namespaces is not None else None
        self.auth = auth
        self.token = token
        self.refresh = refresh
        self.ack_timeout = positive("ack_timeout", ack_timeout)
        self.ack_retries = count("ack_retries", ack_retries)
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        self.grace = non_negative("grace", grace)
        self.socketio_path = socketio_path
        self.client_options = {"handle_sigint": False, **client_options}
        self._outbox: Outbox[_Outgoing] = Outbox(queue_size, overflow)
        self._init_supervision(timeline, policy, max_attempts=max_attempts, rng=rng,
                               can_refresh=refresh is not None or callable(auth)
                               or callable(token))
        self._handlers: dict[tuple[str, str], list[Callable[..., Any]]] = {}
        self._seq = itertools.count(1)
        self._sio: socketio.AsyncClient | None = None
        self._live = False
        self._sending = False
        self._wake_sender = asyncio.Event()
        self._lost = asyncio.Event()
        self._refusals: dict[str, Any] = {}  # namespace -> what its connect_error said
        self._refused_now = asyncio.Event()  # a connect_error arrived during this attempt
        self._ended_by_server = ""  # why the server disconnected us, if it did
        self._sent_auth: Any = None  # the credentials of the last attempt
        self._next_auth: Any = None  # fresh credentials for the next attempt
        self.connections = 0
        self.transport: str | None = None

    # -- public API -----------------------------------------------------------------------
    @property
    def sid(self) -> str | None:
        sio = self._sio
        return sio.sid if sio is not None and self._live else None

    @property
    def connected_namespaces(self) -> tuple[str, ...]:
        """The namespaces sharing the current Engine.IO connection (empty when offline)."""
        sio = self._sio
        return tuple(sorted(sio.namespaces)) if sio is not None and self._live else ()

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, *, namespace: str = "/"
    ) -> Any:
        """Call ``handler(*args)`` for every ``event`` on ``namespace`` (also as a decorator).

        Kept across reconnects; may be registered before :meth:`connect`. ``connect``
        handlers take no argument and run after each (re)connect; ``disconnect``
        handlers get the reason. A handler's return value answers a server's ``call``.
        """

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._handlers.setdefault((namespace, event), []).append(fn)
            return fn

        return register if handler is None else register(handler)

    def off(self, event: str, handler: Callable[..., Any] | None = None, *,
            namespace: str = "/") -> None:
        """Remove one handler (or, without ``handler``, every handler) of ``event``."""
        key = (namespace, event)
        if handler is None:
            self._handlers.pop(key, None)
        elif handler in self._handlers.get(key, []):
            self._handlers[key].remove(handler)

    async def emit(self, event: str, data: Any = None, *, namespace: str = "/") -> None:
        """Send an event without waiting for an ack: now if connected, else buffered."""
        item = self._new(event, data, namespace, wants_ack=False)
        await self._submit(item)

    async def call(
        self,
        event: str,
        data: Any = None,
        *,
        namespace: str = "/",
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Any:
        """Send an event and return the server's ack (one value, a tuple, or None).

        Waits in the buffer while offline. Once written, waits ``timeout`` (default
        ``ack_timeout``) for the ack; re-sends up to ``retries`` (default
        ``ack_retries``) times, then raises :class:`~rtlab.errors.AckTimeout`. A link
        that dies before the ack re-sends the message after the reconnect, without
        using a retry.
        """
        timeout = self.ack_timeout if timeout is None else timeout
        retries = self.ack_retries if retries is None else retries
        item = self._new(event, data, namespace, wants_ack=True)
        tries = 0
        await self._submit(item)
        while True:
            if item.written is not None:
                await item.written
            ack = item.ack
            assert ack is not None
            try:
                result = await asyncio.wait_for(ack, timeout)
            except TimeoutError:
                self._outbox.forget(item.seq)
                tries += 1
                if tries > retries:
                    self.timeline.record(
                        ERROR, data=item.frame(),
                        detail=f"no ack for '{event}' after {tries} tries of {timeout:g}s",
                    )
                    raise AckTimeout(
                        f"no ack for '{event}' on {namespace} after {tries} tries "
                        f"({timeout:g}s each)"
                    ) from None
                self.timeline.record(
                    NOTE, data=item.frame(),
                    detail=f"no ack for '{event}' within {timeout:g}s: retry {tries}/{retries}",
                )
                await self._submit(item)
                continue
            if result is _DROPPED:
                continue  # re-queued at the front by the supervisor; wait for the rewrite
            return result

    async def close(self) -> None:
        """Stop for good: no more reconnects; tell the server, then abort. Returns promptly."""
        self._closing.set()
        self._wake_sender.set()
        self._lost.set()
        await self._stop_supervisor()
        sio, self._sio, self._live, self.transport = self._sio, None, False, None
        if sio is not None:
            await self._teardown(sio, polite=True)
        self._fail_pending(ClientClosed(f"{self.name} was closed"))
        self._mark_closed()

    # -- sending --------------------------------------------------------------------------
    def _new(self, event: str, data: Any, namespace: str, wants_ack: bool) -> _Outgoing:
        if self._closing.is_set():
            raise ClientClosed(f"{self.name} is closed: '{event}' not sent")
        if self._has_stopped():  # stopped for good (refused, kicked, gave up): say why
            raise self._stopped_error()
        if not isinstance(event, str) or event in RESERVED:
            raise ValueError(f"cannot emit {event!r}: event names are strings, not {RESERVED}")
        if self._supervisor is not None and namespace not in self._namespaces():
            raise ValueError(f"namespace {namespace!r} is not one of {self._namespaces()}")
        return _Outgoing(next(self._seq), event, data, namespace, wants_ack)

    async def _submit(self, item: _Outgoing) -> None:
        """Write now if the link is up and nothing waits ahead (a ``connect`` handler's
        messages go ahead of the buffer); otherwise buffer."""
        direct = self._live and not self._sending and (
            _in_hook.get() or (self._core.state is S.CONNECTED and not self._outbox.queued)
        )
        dropped = self._outbox.put(item, first=direct)
        if dropped is not None:
            if dropped.written is not None and not dropped.written.done():
                dropped.written.set_exception(QueueFull("dropped from a full send buffer"))
            self.timeline.record(NOTE, data=dropped.frame(), detail="queue full: dropped oldest")
        loop = asyncio.get_running_loop()
        if not direct:
            item.written = loop.create_future() if item.wants_ack else None
            self._wake_sender.set()
            return
        item.written = None
        if not await self._write() and item.wants_ack:
            item.written = loop.create_future()  # the link broke under us: kept, at the head
        if self._outbox.queued:
            self._wake_sender.set()

    async def _write(self) -> bool:
        """Write the head of the buffer; False (and it stays at the head) if the link broke."""
        self._sending = True
        try:
            with self._outbox.sending(_Outgoing.key_of) as item:
                sio = self._sio
                if sio is None:
                    raise ConnectionError("no link")
                if item.wants_ack:
                    ack = item.ack = asyncio.get_running_loop().create_future()
                    callback = functools.partial(self._on_ack, item, ack)
                    await sio.emit(item.event, item.data, namespace=item.namespace,
                                   callback=callback)
                else:
                    await sio.emit(item.event, item.data, namespace=item.namespace)
        except Exception:  # noqa: BLE001 - the link broke: it stays at the head
            return False
        finally:
            self._sending = False
        self.timeline.frame(FRAME_OUT, item.frame())
        written, item.written = item.written, None
        if written is not None and not written.done():
            written.set_result(None)
        return True

    def _on_ack(self, item: _Outgoing, ack: asyncio.Future[Any], *args: Any) -> None:
        value = args[0] if len(args) == 1 else (args or None)
        self._outbox.acked(item.seq)
        self.timeline.frame(FRAME_IN, {"ack": item.event, "data": value})
        if not ack.done():
            ack.set_result(value)

    async def _sender(self) -> None:
        outbox = self._outbox
        while True:
            while outbox.queued and self._live and not self._sending:
                if not await self._write():
                    return
            self._wake_sender.clear()
            await self._wake_sender.wait()

    def _requeue_in_flight(self) -> None:
        """Calls still waiting for an ack go back to the front of the buffer, in order."""
        items = self._outbox.requeue()
        if not items:
            return
        loop = asyncio.get_running_loop()
        for item in items:
            item.written = loop.create_future()
            if item.ack is not None and not item.ack.done():
                item.ack.set_result(_DROPPED)
        self.timeline.record(NOTE, detail=f"{len(items)} unacknowledged call(s) re-queued")

    def _fail_pending(self, exc: BaseException) -> None:
        items = self._outbox.drain()
        for item in items:
            for fut in (item.written, item.ack):
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
        if items:
            self.timeline.record(NOTE, detail=f"{len(items)} message(s) not sent: {exc}")

    # -- receiving ------------------------------------------------------------------------
    async def _dispatch(self, namespace: str, event: str, *args: Any) -> Any:
        data = args[0] if len(args) == 1 else list(args)
        frame = {"event": event, "data": data}
        if namespace != "/":
            frame["namespace"] = namespace
        self.timeline.frame(FRAME_IN, frame)
        answer = None
        for handler in list(self._handlers.get((namespace, event), ())):
            try:
                result = await settle(handler(*args))
            except Exception as exc:  # noqa: BLE001 - a user handler must not kill the link
                self.timeline.record(ERROR, detail=f"handler for '{event}' raised {exc!r}")
            else:
                if answer is None:
                    answer = result
        return answer

    async def _on_disconnect(self, sio: socketio.AsyncClient, namespace: str,
                             reason: Any = None) -> None:
        if sio is self._sio and not self._lost.is_set():
            if reason == socketio.AsyncClient.reason.SERVER_DISCONNECT:
                self._ended_by_server = (f"{namespace} disconnected by the server (io server "
                                         "disconnect): not reconnecting, as socket.io-client")
                self.last_error = ClientClosed(self._ended_by_server)
            else:
                self.last_error = ConnectionError(f"{namespace} disconnected: {reason}")
            self._lost.set()

    def _on_connect_error(self, sio: socketio.AsyncClient, namespace: str, data: Any = None,
                          *rest: Any) -> None:
        if sio.eio.state != "connected":  # the transport failed: no server said no
            return
        self.timeline.record(ERROR, data=data, detail=f"{namespace} refused: {data}")
        self._refusals[namespace] = data
        self._refused_now.set()

    # -- one attempt: open, run, say how it ended -----------------------------------------
    def _namespaces(self) -> tuple[str, ...]:
        if self.namespaces is not None:
            return self.namespaces
        found = {ns for ns, _event in self._handlers}
        return tuple(["/"] + sorted(found - {"/"}))

    async def _auth(self) -> dict[str, Any] | None:
        if self.token is not None:
            return {"token": await resolve(self.token)}
        return await resolve(self.auth)

    async def _refresh(self) -> Outcome:
        """After an ``UNAUTHENTICATED`` refusal: fresh credentials for one more try
        (REFRESHED), or why there are none (FATAL)."""
        refused = self._core.last.reason if self._core.last is not None else "refused"
        try:
            if self.refresh is not None:
                await resolve(self.refresh)
            fresh = await self._auth()
        except Exception as exc:  # noqa: BLE001 - the refresh itself failed: say so
            return Outcome(H.FATAL, f"{refused} (and the token refresh failed: {exc!r})")
        if fresh == self._sent_auth:
            return Outcome(H.FATAL, f"{refused} (asked again, the credentials were the same: "
                           "not sent again; give refresh= to get new ones)")
        self._next_auth = fresh
        self.timeline.record(NOTE, detail="credentials refreshed after a refusal")
        return Outcome(H.REFRESHED, "credentials refreshed")

    def _build(self, namespaces: tuple[str, ...]) -> socketio.AsyncClient:
        sio = SocketIOAsyncClient(reconnection=False, **self.client_options)
        for ns in namespaces:
            sio.on("*", functools.partial(self._dispatch, ns), namespace=ns)
            sio.on("disconnect", functools.partial(self._on_disconnect, sio, ns), namespace=ns)
            sio.on("connect_error", functools.partial(self._on_connect_error, sio, ns),
                   namespace=ns)
        return sio

    async def _open(self) -> socketio.AsyncClient | None:
        """One attempt. The client, connected on every namespace, or None (see last_error)."""
        namespaces = self._namespaces()
        sio = self._build(namespaces)
        self._refusals, self._ended_by_server = {}, ""
        connecting: asyncio.Future[None] | None = None
        try:
            if self._next_auth is not None:
                auth, self._next_auth = self._next_auth, None
            else:
                auth = await self._auth()
            self._sent_auth = auth
            connecting = asyncio.ensure_future(sio.connect(
                self.url, auth=auth, transports=list(self.transports),
                namespaces=list(namespaces), socketio_path=self.socketio_path,
                wait_timeout=self.connect_timeout))
            await self._connected_or_refused(connecting)
            return sio
        except asyncio.CancelledError:
            await self._abandon(sio, connecting)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is reported (and sorted)
            self.last_error = exc
            if not self._refusals:
                self.timeline.record(ERROR, data=handshake_status(exc),
                                     detail=f"connect failed: {exc!r}")
            await self._abandon(sio, connecting)
            return None

    async def _connected_or_refused(self, connecting: asyncio.Future[None]) -> None:
        """Wait for ``sio.connect``, but a namespace refused by the server ends the wait at
        once: python-socketio would first ``disconnect()``, which on long-polling waits for
        the open poll (up to the server's ping interval, 25 s by default)."""
        self._refused_now.clear()
        refused = asyncio.ensure_future(self._refused_now.wait())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout + self.grace + 1.0
        try:
            while not connecting.done():
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError(f"not connected within {self.connect_timeout:g}s")
                waits = {connecting} if refused.done() else {connecting, refused}
                await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if self._refusals:
                    raise ConnectionError("refused by the server: " + ", ".join(self._refusals))
            connecting.result()
        finally:
            refused.cancel()

    async def _abandon(self, sio: socketio.AsyncClient,
                       connecting: asyncio.Future[None] | None) -> None:
        """Give up an attempt: abort the library client, then let its ``connect`` end (it
        may be waiting on the poll that the abort cancels)."""
        if connecting is not None and not connecting.done():
            connecting.cancel()
        await self._teardown(sio, polite=False)
        if connecting is not None:
            await asyncio.wait({connecting}, timeout=self.grace + 1.0)
            if connecting.done() and not connecting.cancelled():
                connecting.exception()  # retrieved: it was reported already

    async def _teardown(self, sio: socketio.AsyncClient, polite: bool) -> None:
        """End a library client without waiting on an open long-poll; close its session."""
        eio = sio.eio
        if polite and eio.state == "connected":
            # Queue DISCONNECT/CLOSE and wait until they are written (the write loop ends
            # then), not for the open long-poll to come back: that is what can take 30 s.
            leaving = asyncio.ensure_future(sio.disconnect())
            waits = [t for t in (leaving, eio.write_loop_task) if t is not None]
            with contextlib.suppress(Exception):
                await asyncio.wait(waits, timeout=self.grace, return_when=asyncio.FIRST_COMPLETED)
            leaving.cancel()
            with contextlib.suppress(BaseException):
                await leaving
        tasks = [t for t in (eio.read_loop_task, eio.write_loop_task) if t is not None]
        for task in tasks:
            if not task.done():
                task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            if eio.state == "connected":
                eio.state = "disconnecting"
            await eio.disconnect(abort=True)
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        http = eio.http
        if http is not None and not http.closed:
            with contextlib.suppress(Exception):
                await http.close()

    async def _run_hooks(self, namespaces: tuple[str, ...]) -> None:
        token = _in_hook.set(True)
        try:
            for ns in namespaces:
                for hook in list(self._handlers.get((ns, "connect"), ())):
                    try:
                        await resolve(hook)
                    except Exception as exc:  # noqa: BLE001
                        self.timeline.record(ERROR, detail=f"connect handler raised {exc!r}")
        finally:
            _in_hook.reset(token)

    async def _attempt(self) -> Outcome:
        sio = await self._open()
        if sio is None:
            return self._failed_open()
        opened = await self._session(sio)
        if self._closing.is_set():
            return Outcome(H.CLOSED, "closed by the client")
        if self._ended_by_server:
            return Outcome(H.ENDED, self._ended_by_server)
        return Outcome(H.DROPPED if opened else H.FAILED, str(self.last_error or ""))

    def _failed_open(self) -> Outcome:
        """How an attempt that never connected ended: refused by the server (credentials:
        ``refused``; anything else: ``fatal``), a 4xx handshake, or worth a retry."""
        if self._refusals:
            said = [(ns, *refusal_words(data)) for ns, data in self._refusals.items()]
            words = "; ".join(f"{ns} refused the connection: {message}"
                              for ns, message, _code in said)
            if any(code == "UNAUTHENTICATED" for _ns, _message, code in said):
                return Outcome(H.REFUSED, f"credentials refused: {words}")
            return Outcome(H.FATAL, f"{words} (refused by the server: not retrying, as "
                           "socket.io-client)")
        error = self.last_error or ConnectionError("connect failed")
        status = handshake_status(error)
        if status is not None and status_outcome(status) is H.FATAL:
            return Outcome(H.FATAL, f"handshake refused: HTTP {status} "
                           f"({self._status_hint(status)}); not retrying", status)
        return Outcome(H.FAILED, str(error), status)

    def _status_hint(self, status: int) -> str:
        """What a refused Engine.IO handshake most likely means."""
        if status == 404:
            return f"no Socket.IO server here: check the URL and socketio_path=" \
                   f"{self.socketio_path!r}"
        if status == 403 and self.transports[0] == "websocket":
            return "forbidden: a proxy that blocks WebSocket upgrades answers so; start on " \
                   "polling, transports=('polling', 'websocket')"
        return f"check the URL and socketio_path={self.socketio_path!r}"

    def _stopped(self, decision: Decision) -> None:
        super()._stopped(decision)
        if decision.happened is not H.CLOSED:
            self._fail_pending(self.failure or self._stopped_error())

    async def _session(self, sio: socketio.AsyncClient) -> bool:
        """Run one live link until it is lost; True if it got as far as ``connected``."""
        namespaces = tuple(sio.namespaces)
        self._lost.clear()
        if not sio.connected:
            self._lost.set()
        self._sio = sio
        self._live = True
        self.transport = sio.transport()
        self.connections += 1
        sender: asyncio.Task[None] | None = None
        try:
            self._requeue_in_flight()
            await self._run_hooks(namespaces)
            if not self._lost.is_set():
                self._opened(f"via {self.transport}")
                sender = asyncio.ensure_future(self._sender())
                self._wake_sender.set()
                await self._lost.wait()
            return sender is not None
        finally:
            self._live = False
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(BaseException):
                    await sender
            if not self._closing.is_set():
                self._sio, self.transport = None, None
                self._requeue_in_flight()
                self.timeline.record(NOTE, detail=f"link lost: {self.last_error}")
                await self._teardown(sio, polite=False)


__all__ = ["AckTimeout", "ClientClosed", "ConnectionFailed", "QueueFull", "SocketIOClient",
           "fresh_login", "js_client_delays", "library_delays"]
