"""Raw WebSocket endpoints: /ws/echo, /ws/chat, /ws/ticker.

Every endpoint answers ``{"type": "ping"}`` with ``pong`` (same id) and answers a frame that
is not a JSON object with an ``error`` envelope, keeping the connection open. Each
connection writes through a bounded queue drained by its own task, so one slow reader can
never stall a broadcast: when its queue overflows it is dropped (TCP abort).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from servers import auth, badinput, envelope, params
from servers.feeds import price

if TYPE_CHECKING:
    from servers.app import Server
    from servers.broker import Broker
    from servers.broker.chat import ChatRelay

QUEUE_LIMIT = 1024
MAX_ROOM_LENGTH = 64
MAX_RATE = 1000.0


class Peer:
    """One accepted connection with a bounded outbox."""

    def __init__(self, ws: WebSocket, limit: int = QUEUE_LIMIT) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str] = asyncio.Queue(limit)
        self.gone = asyncio.Event()
        self.user: str | None = None

    def send_nowait(self, message: dict[str, Any] | str) -> bool:
        """Queue without waiting (broadcasts); on overflow drop this peer and return False."""
        text = message if isinstance(message, str) else envelope.dumps(message)
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.evict()
            return False
        return True

    async def send(self, message: dict[str, Any]) -> None:
        """Queue with back-pressure (a producer that may simply wait, e.g. the ticker)."""
        await self.outbox.put(envelope.dumps(message))

    def evict(self) -> None:
        if self.gone.is_set():
            return
        self.gone.set()
        ext = self.ws.scope.get("extensions", {}).get("rtlab.transport")
        if ext is not None:
            ext["transport"].abort()

    async def writer(self) -> None:
        try:
            while True:
                await self.ws.send_text(await self.outbox.get())
        except Exception:  # the socket is gone: nothing left to write to
            self.gone.set()

    async def frames(self) -> AsyncIterator[dict[str, Any]]:
        """Parsed envelopes from the client; pings and bad frames are answered here."""
        while not self.gone.is_set():
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            try:
                env = envelope.parse(data)
            except envelope.EnvelopeError as exc:
                badinput.report_scope(self.ws.scope, str(exc))
                self.send_nowait(envelope.error(str(exc)))
                continue
            if env["type"] == "ping":
                self.send_nowait(envelope.make("pong", env.get("payload"), env.get("id")))
                continue
            env["_raw"] = data
            yield env


async def _serve(ws: WebSocket, handle: Any) -> None:
    """Accept, run the writer and the handler, tear both down however the handler ends."""
    await ws.accept()
    peer = Peer(ws)
    writer = asyncio.create_task(peer.writer())
    gone = asyncio.create_task(peer.gone.wait())
    main = asyncio.create_task(handle(peer))
    try:
        await asyncio.wait({main, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (main, gone, writer):
            task.cancel()
        for task in (main, gone, writer):
            with contextlib.suppress(BaseException):
                await task


async def echo(ws: WebSocket) -> None:
    """Echo every envelope back byte for byte, so a client gets its own ``id`` back."""

    async def handle(peer: Peer) -> None:
        async for env in peer.frames():
            raw = env["_raw"]
            peer.send_nowait(raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))

    await _serve(ws, handle)


def _user(ws: WebSocket, peer: Peer) -> str | None:
    """The signed-in user named by an ``Authorization: Bearer`` handshake header, if any.

    No header: anonymous (``None``). A bad or expired token: an ``error`` envelope that
    says why, and anonymous — so a client that reconnects with a stale token can see it.
    """
    header = ws.headers.get("authorization")
    if header is None:
        return None
    try:
        return auth.bearer_claims(header)["username"]
    except auth.AuthError as exc:
        peer.send_nowait(envelope.error(f"token refused: {exc}"))
        return None


class ChatHub:
    """Rooms of peers. A ``message`` reaches every member of the room, the sender included
    (the echo doubles as a delivery receipt). ``joined`` names the signed-in user.

    With a broker, messages go through a :class:`servers.broker.chat.ChatRelay` and reach
    the room's members on every worker; ``members`` counts this worker's."""

    def __init__(self, broker: Broker | None = None) -> None:
        self.rooms: dict[str, set[Peer]] = {}
        self.relay: ChatRelay | None = None
        if broker is not None:
            from servers.broker.chat import ChatRelay

            self.relay = ChatRelay(broker, self.deliver)

    def join(self, peer: Peer, room: str, old: str | None = None) -> None:
        if old is not None:
            self.leave(peer, old)
        members = self.rooms.setdefault(room, set())
        if not members and self.relay is not None:
            self.relay.watch(room)
        members.add(peer)

    def leave(self, peer: Peer, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(peer)
            if not members:
                del self.rooms[room]
                if self.relay is not None:
                    self.relay.unwatch(room)

    def broadcast(self, room: str, message: dict[str, Any]) -> int:
        """Send to the room; returns the members reached here (0 when relayed: later)."""
        text = envelope.dumps(message)
        if self.relay is not None:
            self.relay.send(room, text)
            return 0
        return self.deliver(room, text)

    def deliver(self, room: str, text: str) -> int:
        members = list(self.rooms.get(room, ()))
        return sum(peer.send_nowait(text) for peer in members)

    async def endpoint(self, ws: WebSocket) -> None:
        room = ws.query_params.get("room") or "general"
        if self.relay is not None:
            await self.relay.start()

        async def handle(peer: Peer) -> None:
            nonlocal room
            if len(room) > MAX_ROOM_LENGTH:
                peer.send_nowait(envelope.error(f"room name longer than {MAX_ROOM_LENGTH}"))
                room = "general"
            peer.user = _user(ws, peer)
            self.join(peer, room)
            peer.send_nowait(self._joined(room, peer=peer))
            try:
                async for env in peer.frames():
                    room = self._on_frame(peer, room, env)
            finally:
                self.leave(peer, room)

        await _serve(ws, handle)

    def _joined(self, room: str, id: str | None = None, *, peer: Peer) -> dict[str, Any]:
        payload = {"room": room, "members": len(self.rooms[room]), "user": peer.user}
        return envelope.make("joined", payload, id)

    def _on_frame(self, peer: Peer, room: str, env: dict[str, Any]) -> str:
        kind, msg_id = env["type"], env.get("id")
        if kind == "message":
            out = envelope.make("message", env.get("payload"), msg_id or envelope.new_id())
            self.broadcast(room, out)
        elif kind == "join":
            payload = env.get("payload")
            new = payload.get("room") if isinstance(payload, dict) else None
            if not isinstance(new, str) or not new or len(new) > MAX_ROOM_LENGTH:
                peer.send_nowait(envelope.error("join needs payload.room (1-64 chars)", msg_id))
            else:
                self.join(peer, new, old=room)
                peer.send_nowait(self._joined(new, msg_id, peer=peer))
                return new
        else:
            peer.send_nowait(envelope.error(
                f"unknown type {badinput.shorten(repr(kind), 80)} (message, join, ping)", msg_id))
        return room


async def ticker(ws: WebSocket) -> None:
    """Push ``tick`` envelopes at ``?rate=N`` per second (default 1, max 1000); ``seq``
    counts from 1 per connection."""
    raw_rate = ws.query_params.get("rate", "1")
    problem = None
    try:
        rate = min(params.number("rate", raw_rate, 0, math.inf), MAX_RATE)
        if rate <= 0:
            raise params.BadParam(f"rate must be a positive number, got {raw_rate!r}")
    except params.BadParam as exc:
        rate, problem = 1.0, f"{exc}; using 1"
        badinput.report_scope(ws.scope, problem)

    async def pump(peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        start, seq = loop.time(), 0
        while True:
            seq += 1
            await peer.send(envelope.make("tick", {"seq": seq, "price": price(seq)}))
            due = start + seq / rate
            delay = due - loop.time()
            if delay < -1.0:  # stalled (frozen, slow reader): restart the schedule, no burst
                start, delay = loop.time() - seq / rate, 0.0
            await asyncio.sleep(max(delay, 0.0))

    async def handle(peer: Peer) -> None:
        if problem:
            peer.send_nowait(envelope.error(problem))
        producer = asyncio.create_task(pump(peer))
        try:
            async for env in peer.frames():
                peer.send_nowait(envelope.error(
                    f"unknown type {badinput.shorten(repr(env['type']), 80)}", env.get("id")))
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer

    await _serve(ws, handle)


def routes(server: Server | None = None) -> list[WebSocketRoute]:
    hub = ChatHub(server.broker if server is not None else None)
    return [
        WebSocketRoute("/ws/echo", echo),
        WebSocketRoute("/ws/chat", hub.endpoint),
        WebSocketRoute("/ws/ticker", ticker),
    ]
