"""Transport-level chaos: every connection's transport is wrapped so the server can freeze it,
delay its writes, or cut it, below the ASGI app.

Why below the app: uvicorn's WebSocket protocol answers protocol-level pings itself, so a
"frozen" server that only paused the app would still pong and no client heartbeat could notice.
Pausing the socket's reads and holding its writes makes a real half-open link.

uvicorn 0.54 with websockets 17 uses the sans-I/O implementation (``websockets-sansio``) for
``ws="auto"``; we subclass that one (and h11 for plain HTTP) and pass the classes to
``uvicorn.Config(http=..., ws=...)``.

The WebSocket subclass also closes what uvicorn leaves open to a hostile client: a handshake
websockets cannot parse (a 9 KB header) is answered (:func:`refuse_handshake`) instead of
hanging; a connection failed for a broken frame lingers so its close frame is read before the
socket closes (``handle_parser_exception``); and a send after the close is a disconnect for
the app (an ``OSError``, as ASGI says), not a ``RuntimeError`` that crashes it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import weakref
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from servers import badinput
from servers.protocols import FAULT_NAMES, classify

__all__ = ["FreezableTransport", "Registry", "classify", "make_protocols"]

LINGER_SECONDS = 2.0  # how long a failed WebSocket keeps reading before it closes

#: scope keys where classroom mode leaves the caller: client id, and "student"/"instructor"
CLIENT_KEY = "rtlab.client"
ROLE_KEY = "rtlab.role"
#: the access-token lifetime a classroom client asked for (``?token_ttl=``; auth caps it)
TOKEN_TTL_KEY = "rtlab.token_ttl"


def client_of(proto: Any) -> str | None:
    """The client id a connection's current request carries (classroom mode), or None."""
    return (getattr(proto, "scope", None) or {}).get(CLIENT_KEY)


def scoped_client(scope: dict[str, Any]) -> str | None:
    """Whose links a chaos call from ``scope`` may break: a student's own client id, or None
    for everyone's (lab mode, the instructor)."""
    return scope.get(CLIENT_KEY) if scope.get(ROLE_KEY) == "student" else None


class Registry:
    """Open connections of one server plus the link faults that apply to them.

    Faults apply to everyone, or (``client=``, classroom mode) to one client id's
    connections only: a student breaks their own links, never the class's."""

    def __init__(self) -> None:
        self.protocols: set[Any] = set()
        self.latency: float = 0.0  # seconds added to every outgoing write
        self.frozen: bool = False
        self.client_latency: dict[str, float] = {}
        self.frozen_clients: set[str] = set()

    def add(self, proto: Any) -> None:
        self.protocols.add(proto)

    def discard(self, proto: Any) -> None:
        self.protocols.discard(proto)

    def connections(self, client: str | None = None) -> list[tuple[Any, str, str]]:
        """(protocol object, protocol name, endpoint) for every open non-chaos connection
        (of ``client`` only, when given)."""
        out = []
        for proto in list(self.protocols):
            # No scope yet = no request parsed: not counted, and never a chaos call's own link.
            kind = classify(getattr(proto, "scope", None))
            if kind is None or kind[0] not in FAULT_NAMES:
                continue
            if client is not None and client_of(proto) != client:
                continue
            out.append((proto, kind[0], kind[1]))
        return out

    def counts(self, client: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
        per_protocol: dict[str, int] = collections.Counter()
        per_endpoint: dict[str, int] = collections.Counter()
        for _proto, name, endpoint in self.connections(client):
            per_protocol[name] += 1
            if endpoint:
                per_endpoint[endpoint] += 1
        return dict(per_protocol), dict(per_endpoint)

    def latency_of(self, proto: Any) -> float:
        if not self.client_latency:
            return self.latency
        return max(self.latency, self.client_latency.get(client_of(proto) or "", 0.0))

    def set_latency(self, seconds: float, client: str | None = None) -> None:
        if client is None:
            self.latency = seconds
        elif seconds > 0:
            self.client_latency[client] = seconds
        else:
            self.client_latency.pop(client, None)

    def is_frozen(self, client: str | None = None) -> bool:
        return self.frozen or (client is not None and client in self.frozen_clients)

    def freeze(self, client: str | None = None) -> int:
        if client is None:
            self.frozen = True
        else:
            self.frozen_clients.add(client)
        n = 0
        for proto, _name, _endpoint in self.connections(client):
            if isinstance(proto.transport, FreezableTransport) and proto.transport.freeze():
                n += 1
        return n

    def thaw(self, client: str | None = None) -> int:
        if client is None:
            self.frozen = False
            self.frozen_clients.clear()
        else:
            self.frozen_clients.discard(client)
        n = 0
        for proto in list(self.protocols):
            if client is not None and client_of(proto) != client:
                continue
            if isinstance(proto.transport, FreezableTransport) and proto.transport.thaw():
                n += 1
        return n

    def drop(self, protocol: str, mode: str, client: str | None = None) -> int:
        """Cut connections. abort: TCP reset, no close frame (clients see 1006).
        close: WebSocket close frame 1012 (service restart); HTTP: FIN after pending bytes."""
        n = 0
        for proto, name, _endpoint in self.connections(client):
            if protocol != "all" and name != protocol:
                continue
            transport = proto.transport
            if transport is None or transport.is_closing():
                continue
            if mode == "abort":
                transport.abort()
            else:
                if isinstance(transport, FreezableTransport):
                    transport.thaw()
                    transport.flush_now()
                if isinstance(proto, WebSocketsSansIOProtocol) and proto.handshake_complete:
                    proto.shutdown()  # close frame 1012, like a restarting server
                else:
                    transport.close()
            n += 1
        return n


class FreezableTransport:
    """Wraps an asyncio transport: while frozen, reads are paused and writes are held; with
    latency set, each write leaves ``registry.latency`` seconds later, in order."""

    def __init__(self, real: asyncio.Transport, registry: Registry, owner: Any) -> None:
        self._real = real
        self._registry = registry
        self.owner = owner
        self._frozen = False
        self._want_paused = False  # what the protocol itself asked for (flow control)
        self._pending: collections.deque[tuple[float, bytes]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._close_after_flush = False
        self.thawed = asyncio.Event()
        self.thawed.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def _exempt(self) -> bool:
        kind = classify(getattr(self.owner, "scope", None))
        return kind is not None and kind[0] not in FAULT_NAMES

    # -- writes ---------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        # the usual case first: no latency set (classify() costs a path lookup)
        latency = self._registry.latency_of(self.owner)
        if latency > 0 and self._exempt():
            latency = 0.0
        if not self._pending and not self._frozen and latency <= 0:
            self._real.write(data)
            return
        loop = asyncio.get_running_loop()
        self._pending.append((loop.time() + latency, bytes(data)))
        self._schedule()

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def _schedule(self) -> None:
        if self._timer is not None or self._frozen or not self._pending:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(self._pending[0][0], self._flush_due)

    def _flush_due(self) -> None:
        self._timer = None
        if self._frozen or self._real.is_closing():
            return
        now = asyncio.get_running_loop().time()
        chunks = []
        while self._pending and self._pending[0][0] <= now + 0.0005:
            chunks.append(self._pending.popleft()[1])
        if chunks:
            self._real.write(b"".join(chunks))
        if self._pending:
            self._schedule()
        elif self._close_after_flush:
            self._real.close()

    def flush_now(self) -> None:
        """Send everything held at once (used before a deliberate close)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending and not self._real.is_closing():
            self._real.write(b"".join(chunk for _t, chunk in self._pending))
        self._pending.clear()

    # -- reads (flow control from the protocol goes through here) --------------------------
    def pause_reading(self) -> None:
        self._want_paused = True
        if not self._frozen:
            self._real.pause_reading()

    def resume_reading(self) -> None:
        self._want_paused = False
        if not self._frozen:
            self._real.resume_reading()

    def is_reading(self) -> bool:
        return self._real.is_reading()

    # -- lifecycle --------------------------------------------------------------------------
    def is_closing(self) -> bool:
        return self._close_after_flush or self._real.is_closing()

    def close(self) -> None:
        if self._pending and not self._frozen and not self._real.is_closing():
            self._close_after_flush = True  # let delayed bytes (e.g. a close frame) leave first
            return
        self._release()
        self._real.close()

    def abort(self) -> None:
        self._release()
        self._real.abort()

    def set_protocol(self, protocol: Any) -> None:
        self.owner = protocol
        self._real.set_protocol(protocol)

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
        self._frozen = False
        self.thawed.set()

    def connection_lost(self) -> None:
        """The socket is gone: wake anything waiting for a thaw so it can fail fast."""
        self._release()

    # -- freeze -----------------------------------------------------------------------------
    def freeze(self) -> bool:
        if self._frozen or self._real.is_closing():
            return False
        self._frozen = True
        self.thawed.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._real.pause_reading()
        return True

    def thaw(self) -> bool:
        if not self._frozen:
            return False
        self._frozen = False
        self.thawed.set()
        if self._real.is_closing():
            return True
        if not self._want_paused:
            self._real.resume_reading()
        if self._pending:
            # Held bytes go out now; their latency was already served while frozen.
            now = asyncio.get_running_loop().time()
            self._pending = collections.deque((min(t, now), d) for t, d in self._pending)
            self._schedule()
        return True


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off: a response written as headers then body must not wait
    for the client's delayed ACK (about 40 ms on Linux) before its second segment."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def refuse_handshake(proto: WebSocketsSansIOProtocol, exc: Exception) -> None:
    """Answer a handshake that websockets could not parse, then close.

    uvicorn hands an upgrade request that h11 accepted (up to 16 KB of headers) to websockets,
    whose parser allows 8 KB per line and 128 headers (``websockets.http11``). When it refuses
    one it sets ``handshake_exc`` and emits no event, and uvicorn, which only writes on events,
    leaves the client hanging until its own timeout. websockets has usually prepared the answer
    (414 or 431, RFC 6585); it is sent here, or a 400 naming the cause when there is none."""
    answer = b"".join(proto.conn.data_to_send())
    cause = exc.__cause__ or exc
    badinput.report("WS handshake", f"{proto.client[0]}:{proto.client[1]}" if proto.client
                    else "?", f"handshake refused: {exc}" + (f" ({cause})" if cause is not exc
                                                             else ""))
    if not answer:
        body = f"Failed to open a WebSocket connection: {exc} ({cause}).\n".encode()
        answer = (f"HTTP/1.1 400 {HTTPStatus(400).phrase}\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    proto.handshake_initiated = True
    if not proto.transport.is_closing():
        proto.transport.write(answer)
        proto.transport.close()


def make_protocols(registry: Registry) -> tuple[type[H11Protocol], type[WebSocketsSansIOProtocol]]:
    """Protocol classes for ``uvicorn.Config(http=..., ws=...)`` bound to ``registry``."""

    class ChaosH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            _no_delay(transport)
            wrapped = FreezableTransport(transport, registry, self)
            registry.add(self)
            super().connection_made(wrapped)  # type: ignore[arg-type]

        def connection_lost(self, exc: Exception | None) -> None:
            registry.discard(self)
            if isinstance(self.transport, FreezableTransport):
                self.transport.connection_lost()
            super().connection_lost(exc)

        def handle_websocket_upgrade(self, event: Any) -> None:
            registry.discard(self)  # the WebSocket protocol takes this connection over
            super().handle_websocket_upgrade(event)

        def handle_events(self) -> None:
            super().handle_events()
            cycle = getattr(self, "cycle", None)
            if cycle is not None:
                # Lets a streaming response write whole chunks itself (servers.ssepump). The
                # cycle by weak reference: the scope is the cycle's, and a strong one made
                # every request a reference cycle (the cycle, its scope, event and queue) that
                # only the garbage collector freed, ~20 objects a request
                cycle.scope.setdefault("extensions", {})["rtlab.transport"] = {
                    "transport": self.transport, "cycle": weakref.ref(cycle)}

    class ChaosWebSocketProtocol(WebSocketsSansIOProtocol):
        def connection_made(self, transport: Any) -> None:
            if isinstance(transport, FreezableTransport):
                transport.owner = self
            else:
                transport = FreezableTransport(transport, registry, self)
            registry.add(self)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.discard(self)
            if isinstance(self.transport, FreezableTransport):
                self.transport.connection_lost()
            super().connection_lost(exc)

        lingering = False

        def data_received(self, data: bytes) -> None:
            if self.lingering:
                self.conn.receive_data(data)  # discarded: the connection has failed
                return
            super().data_received(data)
            if not self.handshake_initiated and self.conn.handshake_exc is not None:
                refuse_handshake(self, self.conn.handshake_exc)

        def handle_parser_exception(self) -> None:
            """A frame too big (1009), bad UTF-8 (1007) or broken framing (1002).

            uvicorn writes the close frame and closes the socket at once. The rest of the
            client's frame is then still unread, so the kernel answers with a reset, and a reset
            destroys the close frame the client had not read yet: it sees 1006, not 1009. Here
            the server half-closes after the close frame, reads and discards what still comes,
            and closes when the client does (or after :data:`LINGER_SECONDS`)."""
            if self.lingering:
                return
            self.lingering = True
            assert self.conn.close_sent is not None
            self.queue.put_nowait({"type": "websocket.disconnect",
                                   "code": self.conn.close_sent.code,
                                   "reason": self.conn.close_sent.reason})
            transport = self.transport
            if isinstance(transport, FreezableTransport):
                transport.thaw()
                transport.flush_now()
            transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            if self.read_paused:
                self.read_paused = False
                transport.resume_reading()
            if transport.can_write_eof():
                transport.write_eof()
            self.close_timer = self.loop.call_later(LINGER_SECONDS, transport.close)

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope = getattr(self, "scope", None)
            if scope is not None:
                # Lets the app abort its own connection (slow-consumer eviction).
                scope["extensions"]["rtlab.transport"] = {"transport": self.transport}

        def send_keepalive_ping(self) -> None:
            if isinstance(self.transport, FreezableTransport) and self.transport.frozen:
                self.schedule_ping()  # a frozen link neither pings nor times out
                return
            super().send_keepalive_ping()

        async def send(self, message: Any) -> None:
            transport = self.transport
            if isinstance(transport, FreezableTransport) and transport.frozen:
                await transport.thawed.wait()  # hold app writes until thaw
            if self.close_sent and message["type"] in ("websocket.send", "websocket.close"):
                # The close frame is already out (the app's, or ours for a broken frame while
                # the app still read older ones). uvicorn raises RuntimeError here, a crash in
                # the app; the ASGI spec asks for an OSError ("disconnected") on a send, and a
                # second close has nothing left to say.
                if message["type"] == "websocket.send":
                    raise ClientDisconnected()
                return
            await super().send(message)
            if message["type"] == "websocket.http.response.body" and not message.get(
                "more_body"
            ):
                # uvicorn 0.54 never marks an HTTP-answered handshake complete, and then logs
                # "ASGI callable returned without completing handshake" for every 404/503.
                self.handshake_complete = True

    return ChaosH11Protocol, ChaosWebSocketProtocol
