"""The WebSocket under an Engine.IO session, and whether a whole frame may be written to it now.

python-engineio 4 sends every packet through a per-session ``asyncio.Queue`` drained by one
writer task (``AsyncSocket._websocket_handler.writer``: ``poll()``, then ``await ws.send`` of
each packet). :mod:`servers.fanout` writes broadcast frames straight to the transport instead,
and that is only safe when it cannot overtake anything: the session is on WebSocket (upgrade
finished), its writer is waiting for the queue with the queue empty (so every packet handed to
it has been written), and the connection is open and not flow-controlled. This module makes
those facts observable:

- :class:`WriterQueue` (engineio's ``create_queue``) marks while a consumer waits inside
  ``get()``. After an upgrade only the writer consumes (a polling ``GET`` answers ``NOOP``
  without polling), and between ``get()`` returning and the writer's next ``get()`` the flag
  is down, so "waiting and empty" means "nothing queued, nothing in flight". The flag goes down
  in ``get()`` itself, in the task that takes the item (Python 3.11's ``wait_for`` runs the
  ``get()`` in a task of its own, and the writer resumes one loop pass later).
- :class:`LinkedWebSocket` (engineio's ASGI ``WebSocket``) records the uvicorn protocol and
  transport of the connection on the Engine.IO socket while the connection serves it. It finds
  them in the ``rtlab.transport`` scope extension that :mod:`servers.transport` sets; without
  it (another ASGI server) no link is recorded and every packet takes engineio's path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.protocol import State

from servers.sioguard import GuardedEngineIO, GuardedWebSocket

#: attribute of an engineio ``AsyncSocket`` holding its :class:`Link` while on WebSocket
ATTRIBUTE = "rtlab_link"


class WriterQueue(asyncio.Queue):  # type: ignore[type-arg]
    """engineio's per-session queue, telling whether its consumer is waiting empty-handed."""

    waiting = False

    async def get(self) -> Any:
        self.waiting = True
        try:
            return await super().get()
        finally:
            self.waiting = False


class Link:
    """One WebSocket connection (uvicorn's sans-I/O protocol and its transport)."""

    __slots__ = ("protocol", "transport", "deflate")

    def __init__(self, protocol: Any, transport: Any) -> None:
        self.protocol = protocol
        self.transport = transport
        #: permessage-deflate negotiated: frames we write ourselves go uncompressed
        self.deflate = bool(getattr(protocol.conn, "extensions", None))

    def open(self) -> bool:
        """No close frame sent or received, the transport not closing."""
        proto = self.protocol
        return (not proto.close_sent and proto.conn.state is State.OPEN
                and not self.transport.is_closing())

    def writable(self) -> bool:
        """Open and not paused by flow control (the transport is under its high-water mark)."""
        return self.protocol.writable.is_set() and self.open()

    def abort(self) -> None:
        """Cut the connection (no close frame): engineio sees it end and closes the session."""
        self.transport.abort()


def link_of(sock: Any) -> Link | None:
    return getattr(sock, ATTRIBUTE, None)


def idle(sock: Any) -> bool:
    """The session's WebSocket writer holds nothing and waits: a frame written now is next."""
    queue = sock.queue
    return (sock.upgraded and not sock.upgrading and not sock.closing
            and getattr(queue, "waiting", False) and queue.empty())


class LinkedWebSocket(GuardedWebSocket):
    """engineio's ASGI WebSocket that records its connection on the Engine.IO socket."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        sock = getattr(self.handler, "__self__", None)  # the AsyncSocket being served
        scope = environ.get("asgi.scope") or {}
        found = scope.get("extensions", {}).get("rtlab.transport")
        transport = found.get("transport") if found else None
        protocol = getattr(transport, "owner", None)
        if sock is None or protocol is None or not hasattr(protocol, "conn"):
            return await super().__call__(environ)
        setattr(sock, ATTRIBUTE, Link(protocol, transport))
        try:
            return await super().__call__(environ)
        finally:
            setattr(sock, ATTRIBUTE, None)


class LinkedEngineIO(GuardedEngineIO):
    """python-engineio's server whose sessions tell when a frame may bypass their queue."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": LinkedWebSocket}

    def create_queue(self, *args: Any, **kwargs: Any) -> WriterQueue:
        return WriterQueue(*args, **kwargs)
