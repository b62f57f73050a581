"""python-socketio's server with every client packet checked at the door.

What python-socketio 5 / python-engineio 4 do with a hostile client, and what this changes:

- An ``EVENT`` named ``connect`` or ``disconnect`` reaches the handlers registered for the
  *connection* events (``_trigger_event`` looks the name up like any other), with the client's
  arguments in place of ``environ``/``reason``: a client could run its own disconnect cleanup,
  or impersonate a connect. ``*`` reaches the catch-all with the arguments shifted. The
  reference parser (socket.io-parser's ``isPayloadValid``) refuses every name of its
  ``RESERVED_EVENTS`` — ``connect``, ``connect_error``, ``disconnect``, ``disconnecting``,
  ``newListener``, ``removeListener`` — so do we (:data:`RESERVED_EVENTS`, plus ``*``,
  python-socketio's catch-all name). Such an event, or one
  whose payload is not ``[name, ...args]`` with a string name, is answered like any bad
  payload of ours: an ``{"error"}`` ack when the client asked for one, an ``error`` event, one
  log line — and never reaches a handler.
- A Socket.IO packet that does not decode (bad JSON, a bad attachment count or placeholder)
  raises inside the Engine.IO message handler, which logs a full traceback per packet. Here it
  is one log line and the packet is dropped; the connection stays.
- An Engine.IO packet that does not decode (an empty text frame, a type that is not a digit,
  bad base64) on the WebSocket transport raises *outside* engineio's own ``try`` and drops the
  connection with no close frame. Here it closes with 1002 (protocol error, RFC 6455 §7.4.1)
  and a reason, as the reference server closes on a "parse error".
- engineio (4.15) also answers a WebSocket handshake that asks for ``transport=polling``
  with an accept and then drops it, runs its WebSocket handler on a plain GET that asks for
  ``transport=websocket`` (a 500); a POST for a session that has just closed raises
  ``KeyError`` (a 500); and a POST whose packet it refuses (a client PING, a body over the
  size limit) waits, for ever, until the client fetches the CLOSE packet with a GET it may
  never send. Here: 400 for the first three, a bounded wait for the last
  (:class:`GuardedEngineIO`).

JSON is decoded with :mod:`servers.safejson` (depth-bounded, no NaN) on both layers, and each
request's environ is built by :mod:`servers.eioenviron` (engineio's own makes a class per
request, a reference cycle that only the garbage collector frees).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi
from socketio import packet as sio_packet

from servers import badinput, eioenviron, gcpolicy, safejson

log = logging.getLogger("rtlab.badinput")

RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener", "*"})
#: what a malformed packet raises inside python-socketio's / python-engineio's decoders
DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)
PROTOCOL_ERROR = 1002
DISCONNECT_WAIT = 1.0  # seconds a server-side disconnect waits for a polling client's fetch


def event_problem(data: Any) -> str | None:
    """Why an EVENT payload must not reach a handler, or None."""
    if not isinstance(data, list) or not data:
        return "an event is a JSON array [name, ...args]"
    name = data[0]
    if not isinstance(name, str):
        return f"an event name is a string, not {type(name).__name__}"
    if name in RESERVED_EVENTS:
        return f"'{badinput.shorten(name, 40)}' is a reserved event name"
    return None


class GuardedWebSocket(eio_asgi.WebSocket):
    """engineio's ASGI WebSocket wrapper, closing with 1002 on a frame that is no packet."""

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str):
            try:
                eio_packet.Packet(encoded_packet=data)
            except DECODE_ERRORS as exc:
                reason = f"malformed Engine.IO packet: {exc}"
                log.warning("bad input on /socket.io/ (websocket): %s", badinput.shorten(reason))
                await self.asgi_send({"type": "websocket.close", "code": PROTOCOL_ERROR,
                                      "reason": reason})
                raise OSError(reason) from None  # engineio's loop ends the session here
        return data


class GuardedEngineIO(engineio.AsyncServer):
    """python-engineio's server with three holes closed (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": GuardedWebSocket,
                       # no class (a reference cycle) per request: :mod:`servers.eioenviron`
                       "translate_request": eioenviron.translate_request}
        #: full collections after many sessions closed (their cycles, :mod:`servers.gcpolicy`)
        self.reclaimer = gcpolicy.Reclaimer(delay=self.ping_timeout + 1)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "disconnect":  # every session's close goes through here, once
            self.reclaimer.closed(len(self.sockets))  # (closed ones linger: an upper bound)
        return await super()._trigger_event(event, *args, **kwargs)

    async def handle_request(self, scope: Any, receive: Any, send: Any) -> Any:
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        websocket = query.get("transport", ["polling"])[0] == "websocket"
        if (scope["type"] == "websocket") != websocket:
            # engineio would accept a WebSocket handshake for a polling session and then drop
            # it without a close frame, or run its WebSocket handler on a plain request (500)
            await _refuse(scope, receive, send, "transport=websocket needs a WebSocket "
                          "handshake, and a WebSocket handshake needs transport=websocket")
            return None
        sid = query.get("sid", [None])[0]
        stale = self.sockets.get(sid) if sid else None
        if stale is not None and stale.closed:
            del self.sockets[sid]  # engineio's _get_socket raises KeyError (a 500) for these
        try:
            return await super().handle_request(scope, receive, send)
        except KeyError as exc:  # the session closed while this request was on its way in
            if scope["type"] != "http":
                raise
            await _refuse(scope, receive, send, f"session {sid} is gone ({exc})")
            return None

    async def disconnect(self, sid: str | None = None) -> None:
        """Bounded: on long-polling, engineio waits until the client fetches the CLOSE packet,
        and a client that never polls again held the request that triggered it for ever."""
        try:
            await asyncio.wait_for(super().disconnect(sid), DISCONNECT_WAIT)
        except TimeoutError:
            if sid is not None:
                self.sockets.pop(sid, None)


async def _refuse(scope: Any, receive: Any, send: Any, reason: str) -> None:
    log.warning("bad input from %s on /socket.io/: %s", badinput.peer(scope), reason)
    body = reason.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", b"%d" % len(body))]
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardedPacket(sio_packet.Packet):
    json = safejson


class GuardedServer(socketio.AsyncServer):
    """``socketio.AsyncServer`` that refuses reserved and malformed events (see above), and,
    when :attr:`admit` is set (classroom mode), events it refuses (a client's rate limit)."""

    #: ``await admit(handshake scope) -> None or why not``, asked before each event
    admit: Callable[[dict[str, Any] | None], Awaitable[str | None]] | None = None

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", GuardedPacket)
        kwargs.setdefault("json", safejson)
        super().__init__(**kwargs)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return GuardedEngineIO

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except DECODE_ERRORS as exc:
            self._binary_packet.pop(eio_sid, None)
            log.warning("bad input from %s on /socket.io/: malformed Socket.IO packet: %s",
                        self._peer(eio_sid), badinput.shorten(f"{type(exc).__name__}: {exc}"))

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any,
                            data: Any) -> None:
        problem = event_problem(data)
        if problem is None and self.admit is not None:
            refused = await self.admit((self.environ.get(eio_sid) or {}).get("asgi.scope"))
            if refused is not None:
                await self._refuse_event(eio_sid, namespace or "/", id, data, refused)
                return
        if problem is None:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        namespace = namespace or "/"
        log.warning("bad input from %s on /socket.io/ %s: %s", self._peer(eio_sid), namespace,
                    problem)
        await self._refuse_event(eio_sid, namespace, id, data, problem)

    async def _refuse_event(self, eio_sid: str, namespace: str, id: Any, data: Any,
                            problem: str) -> None:
        """An ``{"error"}`` ack when the client asked for one, and an ``error`` event."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        answer = {"error": problem}
        if id is not None:
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.ACK, namespace=namespace, id=id, data=[answer]))
        name = data[0] if isinstance(data, list) and data and isinstance(data[0], str) else None
        await self.emit("error", {"event": name, **answer}, to=sid, namespace=namespace)

    def _peer(self, eio_sid: str) -> str:
        environ = self.environ.get(eio_sid) or {}
        scope = environ.get("asgi.scope")
        return badinput.peer(scope) if scope else environ.get("REMOTE_ADDR", "?")
