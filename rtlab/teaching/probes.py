"""One client per transport, each with numbered traffic and a ledger of what it promised.

The fault matrix (:mod:`rtlab.teaching.faults`) breaks a server under four clients at once
and asks each the same questions: did it recover, how long after the server could serve
again, what was lost, what came twice. A :class:`Probe` makes those questions answerable:
it runs one rtlab client with numbered messages flowing, and records in a
:class:`~rtlab.teaching.ledger.Ledger` every message made and every receipt, with times on
the clients' clock (``time.monotonic``, as every :class:`~rtlab.state.Timeline`).

What each client *promises* differs, and each probe counts against its own promise:

* :class:`WebSocketProbe`: ``ReconnectingWebSocket`` on ``/ws/echo`` with ``ack_id``: every
  ``send()`` comes back once, in order (kept until echoed, re-sent after a reconnect).
* :class:`SocketIOProbe`: ``SocketIOClient.call("chat_message")`` on ``/chat``: every call is
  acknowledged or raises; a re-send after a drop carries the same ``clientId``, so the server
  does the work once (the ack says ``duplicate`` when it caught a re-send).
* :class:`SSEProbe`: ``ReconnectingEventSource`` on ``/sse/news``: no id skipped or repeated
  while the server lives (``Last-Event-ID`` replays from its ring buffer); a restarted server
  has a new feed and says so with a ``reset`` event.
* :class:`GraphQLProbe`: a ``GraphQLClient.subscribe`` over ``WebSocketLink`` to
  ``messageReceived``, fed by ``sendMessage`` mutations over HTTP: events published while
  the subscription is live arrive once. graphql-transport-ws has no replay: what is
  published while the link is down is lost, and the probe counts it as lost *in a gap*.

Every probe takes ``base`` (the demo server, or a proxy in front of it: anything with
``url``, ``http_url`` and ``ws_url``) and the same knobs (``period``, ``heartbeat``,
``policy``), so the four meet a fault on equal terms.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, ClassVar

import httpx

from rtlab.auth import TokenManager
from rtlab.backoff import Exponential, Policy, planned
from rtlab.errors import AckTimeout, ClientClosed, ConnectionFailed, QueueFull, RtlabError
from rtlab.graphql import GraphQLClient, Operation
from rtlab.graphql.ws import WebSocketLink
from rtlab.socketio import SocketIOClient, fresh_login
from rtlab.sse import ReconnectingEventSource
from rtlab.state import STATE, ConnectionState, Event, Timeline
from rtlab.teaching.ledger import Ledger, outages, split_lost
from rtlab.ws import ReconnectingWebSocket, echo_ack

S = ConnectionState
#: How every probe reconnects unless told otherwise: 50 ms doubling to 400 ms, no jitter,
#: so the bound on a reconnect after the server is back is easy to state.
POLICY = Exponential(base=0.05, cap=0.4)
ROOM_SUB = """subscription Room($room: ID!) {
  messageReceived(chatRoomId: $room) { id content }
}"""
SEND = """mutation Send($room: ID!, $content: String!) {
  sendMessage(chatRoomId: $room, content: $content) { id }
}"""
_tags = itertools.count(1)


class Probe:
    """One client of one transport with numbered traffic (see the module docs).

    Subclasses set ``transport`` and ``promise``, build ``client`` and ``states`` (the
    timeline where the client's connection states land), and implement :meth:`_connect`,
    :meth:`_traffic` and :meth:`_close`. ``stopped`` says why the client stopped for good,
    if it did (a refused upgrade, a status no retry changes).
    """

    #: the column it fills in the matrix (set another on an instance for a variant)
    transport: str = ""
    promise: ClassVar[str] = ""
    #: One opening handshake on loopback, with room for a busy machine (a bound's last term).
    HANDSHAKE = 1.0

    def __init__(self, *, period: float, heartbeat: float, policy: Policy | None,
                 connect_timeout: float) -> None:
        self.period = period
        self.heartbeat = heartbeat
        self.policy = POLICY if policy is None else policy
        self.connect_timeout = connect_timeout
        self.tag = f"p{next(_tags)}"
        self.stopped = ""
        self.answered = ""  # what the server said to a malformed message (see malformed())
        self.started_at = 0.0
        self.ledger: Ledger
        self.states: Timeline
        self.transitions: list[Event] = []  # every state change (a full timeline drops them)
        self._unfollow: Callable[[], None] = lambda: None
        self._makers: list[asyncio.Task[Any]] = []
        self._readers: list[asyncio.Task[Any]] = []

    def _follow(self, timeline: Timeline) -> None:
        """Watch ``timeline``, where the client's states land: keep every state change."""
        self.states = timeline
        self.ledger = Ledger(timeline)
        self.transitions = list(timeline.of_kind(STATE))
        self._unfollow = timeline.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind == STATE:
            self.transitions.append(event)

    # -- life ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (within ``connect_timeout``) and start the traffic; a client that stops
        instead (e.g. a refused upgrade) is recorded in ``stopped``, not raised."""
        self.started_at = time.monotonic()
        try:
            await self._connect()
        except (RtlabError, TimeoutError, ConnectionError) as exc:
            self.stopped = _one_line(exc)
            return
        self._readers = [asyncio.ensure_future(job) for job in self._read()]
        self._makers = [asyncio.ensure_future(job) for job in self._make()]

    async def stop_making(self) -> None:
        """Stop making new messages (what was made may still arrive: see :meth:`drain`)."""
        await _cancel(self._makers)

    async def close(self) -> None:
        await _cancel(self._makers + self._readers)
        with contextlib.suppress(Exception):
            await self._close()
        self._unfollow()

    async def _connect(self) -> None:
        raise NotImplementedError

    def _make(self) -> list[Any]:
        """Coroutines that make numbered messages."""
        return []

    def _read(self) -> list[Any]:
        """Coroutines that record what arrives."""
        return []

    async def _close(self) -> None:
        raise NotImplementedError

    # -- what the fault matrix asks ---------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        last = self.transitions[-1].state if self.transitions else None
        return last if last is not None else S.DISCONNECTED

    def left_connected(self, after: float) -> float | None:
        """When the client first left ``connected`` after ``after`` (None: it never did)."""
        return next((e.t for e in self.transitions
                     if e.t > after and e.state is not S.CONNECTED
                     and e.state is not S.CONNECTING), None)

    def connected_again(self, after: float) -> float | None:
        """When the client was next ``connected`` after ``after``."""
        return next((e.t for e in self.transitions
                     if e.t > after and e.state is S.CONNECTED), None)

    def recovered_at(self, fault_at: float) -> float | None:
        """When the first message made after ``fault_at`` arrived: the link works again
        (a receipt already on its way when the fault struck does not count)."""
        made = self.ledger.made
        return next((at for key, at in self.ledger.got
                     if key in made and made[key] >= fault_at), None)

    def lost(self) -> list[Hashable]:
        """What the client promised and did not deliver (by its own promise)."""
        return self.ledger.lost()

    def duplicated(self) -> int:
        return self.ledger.duplicated()

    def notes(self) -> list[str]:
        """Anything worth a word in the matrix (re-sends caught, resets, ...)."""
        return []

    async def malformed(self) -> str:
        """Send, on the live link, something the server cannot use; returns what it said.
        (A probe whose client sends nothing, SSE, has none.)"""
        raise NotImplementedError(f"{self.transport}: the client sends nothing to malform")

    def bound(self, fault: str) -> float | None:
        """Seconds, from the moment the server can serve again, within which this client
        promises to deliver again after ``fault`` (None: it promises no bound): the time to
        notice a frozen link, the longest backoff wait and one handshake. After a SIGSTOP, an
        attempt made meanwhile may hang until the server runs again, or time out
        (``connect_timeout``) and wait once more. Through a proxy (``fault == "proxy"``): its
        ``connect_timeout``, the bound on a first connect."""
        if fault == "proxy":
            return self.connect_timeout
        if fault == "sigstop":  # an attempt may hang on the stopped server until it runs
            return self.connect_timeout + self.reconnect_wait() + self.HANDSHAKE  # or times out
        detect = self.detection_bound() if fault == "freeze" else 0.0
        return detect + self.reconnect_wait() + self.HANDSHAKE

    def detection_bound(self) -> float:
        """Seconds within which the client notices a link that went silent."""
        return 2 * self.heartbeat

    def reconnect_wait(self) -> float:
        """The longest wait before a reconnect attempt."""
        return longest_wait(self.policy)

    async def drain(self, timeout: float) -> bool:
        """Wait until everything promised is received (True), or ``timeout`` passes."""
        return await self.ledger.until(lambda: not self.lost(), timeout)


def engineio_heartbeat(client: SocketIOClient) -> float | None:
    """``pingInterval + pingTimeout`` from the server's Engine.IO handshake (seconds): how
    long python-engineio waits for a packet before it calls the link dead (None before a
    connection). The client has no knob of its own for it."""
    eio = getattr(getattr(client, "_sio", None), "eio", None)
    interval = getattr(eio, "ping_interval", None)
    if not interval:
        return None
    return float(interval + eio.ping_timeout)


def longest_wait(policy: Policy) -> float:
    """The longest wait a policy plans before an attempt (its cap, in practice)."""
    return max(planned(policy, 30))


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WebSocketProbe(Probe):
    """``ReconnectingWebSocket`` on ``/ws/echo``: numbered envelopes, each echoed back."""

    transport = "WebSocket"
    promise = "every send() echoed once, in order (ack_id: kept until echoed, re-sent)"

    def __init__(self, base: Any, *, period: float = 0.02, heartbeat: float = 0.25,
                 policy: Policy | None = None, connect_timeout: float = 3.0) -> None:
        super().__init__(period=period, heartbeat=heartbeat, policy=policy,
                         connect_timeout=connect_timeout)
        self.client = ReconnectingWebSocket(
            base.ws_url("/ws/echo"), ack_id=echo_ack, policy=self.policy,
            heartbeat_interval=heartbeat, heartbeat_timeout=heartbeat,
            connect_timeout=connect_timeout, name=f"ws {self.tag}")
        self._follow(self.client.timeline)
        self.errors: list[str] = []

    async def _connect(self) -> None:
        await self.client.connect(timeout=self.connect_timeout)

    def _make(self) -> list[Any]:
        return [self._send()]

    def _read(self) -> list[Any]:
        return [self._echoes()]

    async def _send(self) -> None:
        for n in itertools.count():
            made = time.monotonic()
            try:
                await self.client.send({"type": "seq", "id": f"m{n}", "payload": n})
            except RtlabError as exc:
                self.stopped = self.stopped or _one_line(exc)
                return
            self.ledger.make(n, at=made)
            await asyncio.sleep(self.period)

    async def _echoes(self) -> None:
        with contextlib.suppress(ClientClosed, ConnectionFailed):
            async for message in self.client:
                if not isinstance(message, dict):
                    continue
                if message.get("type") == "seq":
                    self.ledger.receive(message["payload"])
                elif message.get("type") == "error":
                    self.errors.append(str((message.get("payload") or {}).get("message")))
                    self.ledger.wake()

    async def malformed(self) -> str:
        """Write a frame that is not JSON: the server answers an ``error`` envelope and keeps
        the link (its contract)."""
        before = len(self.errors)
        await self.client.send("{not json")
        await self.ledger.until(lambda: len(self.errors) > before, 2.0)
        said = self.errors[before] if len(self.errors) > before else "nothing"
        self.answered = f"not JSON: the server said {said!r}"
        return self.answered

    async def _close(self) -> None:
        await self.client.close()


class SocketIOProbe(Probe):
    """``SocketIOClient`` on ``/chat``: numbered ``chat_message`` calls, each acknowledged.

    ``ack_timeout * (1 + ack_retries)`` (20 s) outlasts Engine.IO's heartbeat (the server's
    ``pingInterval + pingTimeout``, 15 s on the demo server) and a reconnect: with less, a
    frozen link turns calls into ``AckTimeout``\\ s before the client has even noticed the
    link is dead. Re-sends stay few (one per call every 5 s): python-engineio checks its
    heartbeat only in its reader, which waits for its writer, so a client that fills the
    socket's buffers writing into a frozen link never notices it at all.
    """

    transport = "Socket.IO"
    promise = "every call() acked (a re-send keeps its clientId: done once)"

    def __init__(self, base: Any, *, period: float = 0.02, heartbeat: float = 0.25,
                 policy: Policy | None = None, connect_timeout: float = 3.0,
                 ack_timeout: float = 5.0, ack_retries: int = 3,
                 transports: tuple[str, ...] = ("polling", "websocket")) -> None:
        super().__init__(period=period, heartbeat=heartbeat, policy=policy,
                         connect_timeout=connect_timeout)
        self.room = f"faults-{self.tag}"
        self.client = SocketIOClient(
            base.url, token=fresh_login(base.url, "alice"), namespaces=("/chat",),
            policy=self.policy, connect_timeout=connect_timeout, ack_timeout=ack_timeout,
            ack_retries=ack_retries, transports=transports, queue_size=10_000,
            name=f"sio {self.tag}")
        self.client.on("connect", self._join, namespace="/chat")
        self._follow(self.client.timeline)
        self.deduped = 0
        self.failed: list[str] = []
        self._calls: set[asyncio.Task[None]] = set()

    async def _join(self) -> None:
        await self.client.call("join", {"room": self.room}, namespace="/chat")

    async def _connect(self) -> None:
        await self.client.connect(timeout=self.connect_timeout)

    def _make(self) -> list[Any]:
        return [self._send()]

    async def _send(self) -> None:
        for n in itertools.count():
            self.ledger.make(n)
            task = asyncio.ensure_future(self._call(n))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            await asyncio.sleep(self.period)

    async def _call(self, n: int) -> None:
        data = {"room": self.room, "text": str(n), "clientId": f"{self.tag}-{n}"}
        try:
            ack = await self.client.call("chat_message", data, namespace="/chat")
        except (AckTimeout, ConnectionFailed, ClientClosed, QueueFull) as exc:
            self.failed.append(_one_line(exc))
            return
        if isinstance(ack, dict) and ack.get("duplicate"):
            self.deduped += 1
        self.ledger.receive(n)

    async def malformed(self) -> str:
        """A ``chat_message`` whose payload is not an object: the server acks an error (and
        never raises); the link stays."""
        ack = await self.client.call("chat_message", "not an object", namespace="/chat")
        self.answered = f"bad payload: the server acked {ack!r}"
        return self.answered

    @property
    def engineio_heartbeat(self) -> float | None:
        return engineio_heartbeat(self.client)

    def notes(self) -> list[str]:
        notes = [f"{self.deduped} re-sent, done once (clientId)"] if self.deduped else []
        if self.failed:
            notes.append(f"{len(self.failed)} calls failed: {self.failed[0]}")
        return notes

    def detection_bound(self) -> float:
        # No client knob: the server's heartbeat decides (15 s if the handshake is unknown).
        return self.engineio_heartbeat or 15.0

    async def drain(self, timeout: float) -> bool:
        calls = list(self._calls)
        if calls:
            await asyncio.wait(calls, timeout=timeout)
        return not self.lost()

    async def _close(self) -> None:
        await _cancel(list(self._calls))
        await self.client.close()


class SSEProbe(Probe):
    """``ReconnectingEventSource`` on ``/sse/news``: the server's numbered feed.

    The feed is the server's clock, not the client's: "made" is when the server published
    an event (its ``timestamp``), learned when the event arrives.
    """

    transport = "SSE"
    promise = "no id skipped or repeated while the server lives (Last-Event-ID replay)"

    def __init__(self, base: Any, *, period: float = 0.02, heartbeat: float = 0.25,
                 policy: Policy | None = None, connect_timeout: float = 3.0,
                 retry_ms: int = 100, retry_statuses: tuple[int, ...] = ()) -> None:
        super().__init__(period=period, heartbeat=heartbeat, policy=policy,
                         connect_timeout=connect_timeout)
        self.retry_ms = retry_ms
        # The server's keep-alive comes every heartbeat; silence for twice that is a dead link.
        url = base.http_url(f"/sse/news?interval={period:g}&ping={heartbeat:g}"
                            f"&retry={retry_ms}")
        self.client = ReconnectingEventSource(
            url, heartbeat_timeout=2 * heartbeat, policy=self.policy,
            connect_timeout=connect_timeout, retry_statuses=retry_statuses,
            name=f"sse {self.tag}")
        self._follow(self.client.timeline)
        self.feed = 0  # which feed (a restarted server starts a new one, announced by a reset)
        self.resets: list[str] = []

    async def _connect(self) -> None:
        await self.client.connect(timeout=self.connect_timeout)

    def _read(self) -> list[Any]:
        return [self._events()]

    async def _events(self) -> None:
        with contextlib.suppress(ClientClosed, ConnectionFailed):
            async for event in self.client:
                if event.type == "news" and event.id.isdigit():
                    key = (self.feed, int(event.id))
                    self.ledger.make(key, at=_published(event.json().get("timestamp")))
                    self.ledger.receive(key)
                elif event.type == "reset":
                    self.feed += 1
                    self.resets.append(str(event.json().get("reason")))

    def lost(self) -> list[Hashable]:
        """Ids skipped within a feed, between the first and the last received."""
        ids: dict[int, set[int]] = {}
        for (feed, n), _at in self.ledger.got:  # type: ignore[misc]
            ids.setdefault(feed, set()).add(n)
        return [(feed, n) for feed, got in ids.items()
                for n in range(min(got), max(got) + 1) if n not in got]

    def notes(self) -> list[str]:
        return [f"reset: {reason}" for reason in self.resets]

    def reconnect_wait(self) -> float:
        # The server's retry: is a floor under the policy's waits.
        return max(self.retry_ms / 1000, longest_wait(self.policy))

    async def _close(self) -> None:
        await self.client.close()


def _published(timestamp: Any) -> float | None:
    """An event's ISO ``timestamp`` (wall clock) on the monotonic clock (None if unreadable)."""
    try:
        wall = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return time.monotonic() - (time.time() - wall)


class GraphQLProbe(Probe):
    """A ``messageReceived`` subscription fed by ``sendMessage`` mutations over HTTP.

    ``origin`` is the demo server itself: the mutations go straight to it (they stand for
    the rest of the world talking), while the subscription goes through ``base``.
    """

    transport = "GraphQL"
    promise = "events published while subscribed arrive once (a gap is not replayed)"

    def __init__(self, base: Any, origin: Any, *, period: float = 0.02,
                 heartbeat: float = 0.25, policy: Policy | None = None,
                 connect_timeout: float = 3.0, settle: float = 0.25) -> None:
        super().__init__(period=period, heartbeat=heartbeat, policy=policy,
                         connect_timeout=connect_timeout)
        self.room = f"faults-{self.tag}"
        self.origin = origin
        self.settle = settle
        self.link = WebSocketLink(
            base.ws_url("/graphql"), policy=self.policy, heartbeat_interval=heartbeat,
            heartbeat_timeout=heartbeat, connect_timeout=connect_timeout,
            name=f"graphql {self.tag}")
        self.client = GraphQLClient(self.link)
        self.subscription = self.client.subscribe(ROOM_SUB, {"room": self.room})
        self._follow(self.subscription.timeline)
        self.tokens = TokenManager(origin.url, "alice")
        self.unpublished = 0  # mutations the server did not take (down, refusing, frozen)

    async def _connect(self) -> None:
        await self.subscription.wait_live(timeout=self.connect_timeout)

    def _make(self) -> list[Any]:
        return [self._publish()]

    def _read(self) -> list[Any]:
        return [self._events()]

    async def _publish(self) -> None:
        """A ``sendMessage`` every ``period``, each on its own connection and task: one
        that hangs on a frozen server holds no other back (each stands for another
        sender)."""
        url = self.origin.http_url("/graphql")
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        pending: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=4 * self.heartbeat, trust_env=False,
                                     limits=no_reuse) as http:
            try:
                for n in itertools.count():
                    task = asyncio.ensure_future(self._publish_one(http, url, n))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    await asyncio.sleep(self.period)
            finally:
                if pending:  # answers on their way still count; hung ones do not
                    await asyncio.wait(pending, timeout=4 * self.heartbeat)
                await _cancel(list(pending))

    async def _publish_one(self, http: httpx.AsyncClient, url: str, n: int) -> None:
        sent = time.monotonic()
        if await self._send_message(http, url, n):
            self.ledger.make(n, at=sent)
        else:
            self.unpublished += 1

    async def _send_message(self, http: httpx.AsyncClient, url: str, n: int) -> bool:
        """One ``sendMessage``; True when the server took it. A restarted server signs
        with a new key, so a refused token means: log in again, for the next one."""
        try:
            headers = await self.tokens.headers()
            answer = await http.post(url, headers=headers, json={
                "query": SEND, "variables": {"room": self.room, "content": str(n)}})
            body = answer.json()
        except (httpx.HTTPError, ValueError, RtlabError):
            return False
        if not isinstance(body, dict):
            return False
        errors = body.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "UNAUTHENTICATED" for e in errors):
            with contextlib.suppress(httpx.HTTPError, RtlabError):
                await self.tokens.login()
        return answer.status_code == 200 and not errors and bool(body.get("data"))

    async def _events(self) -> None:
        with contextlib.suppress(ClientClosed, ConnectionFailed):
            async for result in self.subscription:
                content = ((result.data or {}).get("messageReceived") or {}).get("content")
                if isinstance(content, str) and content.isdigit():
                    self.ledger.receive(int(content))

    async def malformed(self) -> str:
        """A second subscription, on the same link, that the server cannot validate: it
        answers ``error`` for that one; the link and the probe's subscription stay."""
        bad = self.link.subscribe(Operation.of("subscription { noSuchField }"))
        try:
            await bad.wait_live(timeout=self.connect_timeout)
            said = "nothing"
        except RtlabError as exc:
            said = _one_line(exc)
        self.answered = f"invalid subscribe: {said}"
        return self.answered

    def gaps(self) -> list[tuple[float, float]]:
        """The subscription's outages (see :func:`outages`)."""
        return outages(self.transitions, self.ledger)

    def lost_in_gaps(self) -> tuple[list[Hashable], list[Hashable]]:
        """The lost events split by :func:`split_lost`: in a gap, and the others."""
        return split_lost(self.ledger, self.gaps(), self.settle)

    def lost(self) -> list[Hashable]:
        return self.lost_in_gaps()[1]

    def notes(self) -> list[str]:
        in_gap = len(self.lost_in_gaps()[0])
        return [f"{in_gap} published in the gap: not replayed"] if in_gap else []

    async def _close(self) -> None:
        await self.subscription.close()
        await self.link.close()


def four(base: Any, origin: Any, **knobs: Any) -> list[Probe]:
    """One probe per transport, in the matrix's column order, sharing ``knobs``."""
    return [GraphQLProbe(base, origin, **knobs), WebSocketProbe(base, **knobs),
            SocketIOProbe(base, **knobs), SSEProbe(base, **knobs)]


def sse_two_ways(base: Any, origin: Any, **knobs: Any) -> list[Probe]:
    """Two SSE probes: as the spec says (a 503 while reconnecting ends the stream) and with
    ``retry_statuses=(503,)`` (rtlab's opt-in: retry it like a dropped link)."""
    spec, retrying = SSEProbe(base, **knobs), SSEProbe(base, retry_statuses=(503,), **knobs)
    spec.transport, retrying.transport = "SSE (spec)", "SSE, 503 retried"
    return [spec, retrying]
