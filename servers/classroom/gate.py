"""The classroom's outermost ASGI layer: token, limits and counting, on every protocol.

How each refusal reads on the wire (the JSON body is ``{"error": <one line>, "code": ...}``):

============================  ==========================  =================================
what                          HTTP (incl. SSE, Socket.IO  WebSocket (``/ws/*``, ``/graphql``)
                              polling and handshakes)
============================  ==========================  =================================
no / wrong join token         401                         accept, then close 4401 + reason
bad client id                 400                         accept, then close 4400 + reason
too many connections (client) 429 + ``Retry-After``       accept, then close 1008 + reason
server full                   503 + ``Retry-After``       accept, then close 1013 + reason
message rate                  429 + ``Retry-After``       close 1008 + reason
============================  ==========================  =================================

A refused WebSocket is *accepted, then closed*: a browser shows a script nothing of a
handshake answered with an HTTP status (only ``error`` and close 1006), while a close frame
gives it the code and the reason. The accept names the first subprotocol offered, so a
client that insists on one (``graphql-transport-ws``) reads the close instead of failing the
handshake. A Socket.IO WebSocket handshake is the exception: it is answered with the HTTP
status like a polling one, because python-engineio's client reads the first frame as its
OPEN packet and a close frame there is no packet. Socket.IO events are rate limited per
event, answered with an ``{"error"}`` ack (:meth:`servers.classroom.Classroom.admit_event`).
Message size is the server's own limit (``--max-frame``: WebSocket close 1009; HTTP bodies
413; Socket.IO's ``max_http_buffer_size``), the same for everyone.

The instructor is counted but never limited.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from servers import protocols, safejson
from servers.classroom.limits import Refusal
from servers.classroom.members import Member, Unknown, identify
from servers.closereason import legal

if TYPE_CHECKING:
    from servers.classroom import Classroom


def _refusal(unknown: Unknown) -> Refusal:
    bad_id = unknown.code == "BAD_CLIENT_ID"
    return Refusal(unknown.code, unknown.message, 400 if bad_id else 401,
                   4400 if bad_id else 4401)


async def answer(scope: Any, receive: Any, send: Any, refusal: Refusal) -> None:
    """Refuse a request or a WebSocket handshake in the protocol's own words (table above)."""
    body = safejson.encode(refusal.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if refusal.retry_after is not None:
        headers.append((b"retry-after", b"%d" % round(refusal.retry_after)))
    if refusal.status == 401:
        headers.append((b"www-authenticate", b'JoinToken realm="rtlab classroom"'))
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    owner = protocols.of_path(scope["path"])
    if owner is not None and owner.name == "socketio" and (
        "websocket.http.response" in scope.get("extensions", {})
    ):
        await send({"type": "websocket.http.response.start", "status": refusal.status,
                    "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    offered = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
    await send({"type": "websocket.close", "code": refusal.close_code,
                "reason": legal(refusal.message)})


def is_attempt(scope: Any) -> bool:
    """A connection attempt a reconnecting client makes: what a herd is counted in."""
    if scope["type"] == "websocket":
        return True
    owner = protocols.of_path(scope["path"])
    if owner is None or scope.get("method") != "GET":
        return False
    if owner.name == "socketio":
        return b"sid=" not in scope.get("query_string", b"")
    return owner.name == "sse"


class Gate:
    """ASGI middleware in front of everything in classroom mode (see the module docs)."""

    def __init__(self, app: Any, room: Classroom) -> None:
        self.app = app
        self.room = room

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        room = self.room
        member = identify(scope, room.config.join_token, room.config.instructor_token)
        if isinstance(member, Unknown):
            await answer(scope, receive, send, _refusal(member))
            return
        now = time.monotonic()
        room.saw(member.client, now)
        if is_attempt(scope):
            room.herd.opened(now)
        owner = protocols.of_path(scope["path"])
        socketio = owner is not None and owner.name == "socketio"
        if scope["type"] == "http":
            room.messages_in.add(now)
        if member.instructor:
            await self.app(scope, *self._metered(member, receive, send, limit=False))
            return
        admission = room.admission
        refusal = await admission.open(member.client)
        if refusal is not None:
            await answer(scope, receive, send, refusal)
            return
        try:
            if scope["type"] == "http" and not socketio:
                refusal = await admission.message(member.client)
                if refusal is not None:
                    await answer(scope, receive, send, refusal)
                    return
            limit = scope["type"] == "websocket" and not socketio
            await self.app(scope, *self._metered(member, receive, send, limit=limit))
        finally:
            await admission.close(member.client)

    def _metered(self, member: Member, receive: Any, send: Any, *, limit: bool
                 ) -> tuple[Any, Any]:
        room = self.room

        async def metered_receive() -> Any:
            message = await receive()
            if message["type"] != "websocket.receive":
                return message
            room.messages_in.add(time.monotonic())
            if limit:
                refusal = await room.admission.message(member.client)
                if refusal is not None:
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": refusal.close_code,
                                    "reason": legal(refusal.message)})
                    return {"type": "websocket.disconnect", "code": refusal.close_code,
                            "reason": refusal.message}
            return message

        async def metered_send(message: Any) -> None:
            kind = message["type"]
            if kind == "websocket.send" or (kind == "http.response.body" and message.get("body")):
                room.messages_out.add(time.monotonic())
            await send(message)

        return metered_receive, metered_send
