"""Socket.IO room broadcasts at a few microseconds per recipient: one packet, one frame, many
writes.

python-socketio 5's ``AsyncManager.emit`` encodes a broadcast once, then creates one task per
recipient; each task puts the packet in that session's engineio queue, whose writer task wakes,
encodes the Engine.IO packet, frames it (websockets) and writes it, through every ASGI
middleware's ``send``. That is about 100 us of CPU per recipient, all in one loop pass, and
what limits a room to about a thousand clients (DESIGN.md, "Known facts").

:class:`FanoutManager` does the per-message work once: the Socket.IO packet, the Engine.IO packet
and the WebSocket frame (websockets' own ``Frame.serialize``). Then, per recipient, in one
synchronous pass:

- a WebSocket session whose writer is idle (:func:`servers.wslink.idle`) and whose connection
  is writable gets the frame written to its transport (at the end of the loop pass, together
  with any other broadcast frames of that pass: :class:`Batch`);
- any other live session gets the packet put in its engineio queue, as engineio's
  ``socket.send`` does (long-polling, a writer busy or flow-controlled, an upgrade under way);
- a session with more than :data:`MAX_BACKLOG` packets queued is a reader that stopped
  reading: it is evicted (WebSocket: the connection is cut; polling: the session is closed), so
  a stalled laptop never makes the server hold its backlog;
- a session that is gone or timed out goes through engineio's ``send`` after the pass, which
  cleans it up as before.

Why writing past engineio is safe:

- the same bytes are valid on every connection: a server never masks its frames (RFC 6455
  §5.1), and a frame we write ourselves is uncompressed. On a connection that negotiated
  permessage-deflate an uncompressed message (RSV1 clear) is legal (RFC 7692 §6: RSV1 tells,
  per message, whether it is compressed; websockets' ``PerMessageDeflate.decode`` passes such
  frames through) and touches neither side's compression context. Messages over
  :data:`COMPRESS_ABOVE` bytes still take engineio's path on such connections, to be compressed;
- order: a frame is written only when nothing handed to the writer is unwritten, and the pass
  has no ``await``: a later emit cannot overtake an earlier one for any recipient (the batch
  keeps that order, see :class:`Batch`);
- flow control and chaos: only a writable connection (not paused by its transport's high-water
  mark) is written to, through the same transport object uvicorn writes to, so a frozen or
  delayed link (``/_chaos``) holds these frames like any other;
- emits with a callback (an ack id per recipient) and binary packets take python-socketio's
  own path, untouched.

``RTLAB_FAST_FANOUT=0`` in the server's environment turns the fast path off (benchmarks
compare both).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from websockets.frames import Frame, Opcode

from servers import wslink
from servers.sioguard import GuardedServer

#: packets queued for one session beyond which its reader is taken for stalled and evicted
MAX_BACKLOG = 1000
#: on a permessage-deflate connection, larger messages go through engineio to be compressed
COMPRESS_ABOVE = 1024


def enabled() -> bool:
    return os.environ.get("RTLAB_FAST_FANOUT", "1") != "0"


def frame(text: str) -> bytes:
    """One unmasked, final text frame carrying ``text`` (RFC 6455 §5.2), as websockets builds it."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Batch:
    """The frames written to each connection during one pass of the event loop, sent as one
    ``transport.write`` per connection at the start of the next pass.

    A herd (a class reconnecting, each join announced to the whole room) runs many broadcasts
    in one loop pass; each recipient then costs one system call, not one per broadcast. Order
    holds: anything engineio's writer sends to a connection after a frame was batched for it
    was queued after that frame, and the writer resumes later than this flush (``call_soon``
    callbacks run in order; the flush was scheduled first).
    """

    def __init__(self) -> None:
        # one frame as bytes (the usual case: no list, nothing for the garbage collector)
        self.frames: dict[wslink.Link, bytes | list[bytes]] = {}

    def add(self, link: wslink.Link, data: bytes) -> None:
        held = self.frames.get(link)
        if held is None:
            if not self.frames:
                asyncio.get_running_loop().call_soon(self.flush)
            self.frames[link] = data
        elif isinstance(held, bytes):
            self.frames[link] = [held, data]
        else:
            held.append(data)

    def flush(self) -> None:
        frames, self.frames = self.frames, {}
        for link, held in frames.items():
            if link.open():  # a connection closed meanwhile gets nothing more, as with engineio
                link.transport.write(held if isinstance(held, bytes) else b"".join(held))


class FanoutManager(socketio.AsyncManager):
    """python-socketio's in-process manager with broadcasts written once (module doc).

    With a pub/sub manager, put it *after* that one in the bases (:func:`fast`): the pub/sub
    layer's ``emit`` publishes, and its local delivery (``super().emit``) lands here.
    """

    #: called with the number of frames written past the ASGI stack (message counters)
    on_sent: Callable[[int], None] | None = None
    fast_fanout = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch = Batch()
        #: recipients so far: written past engineio, queued in engineio, evicted, left to
        #: engineio's send (gone or timed out), skipped as their WebSocket was closing
        self.stats = {"written": 0, "queued": 0, "evicted": 0, "late": 0, "closing": 0}

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        room = to or room
        if callback is not None or not self.fast_fanout or namespace not in self.rooms:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, **kwargs)
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace,
                                           data=[event, *args]).encode()
        if isinstance(encoded, list):  # binary: a packet plus attachments, engineio's path
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      **kwargs)
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        text = pkt.encode()
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        late, stalled = self._deliver(self.get_participants(namespace, room), skip, pkt,
                                      frame(text), len(text) <= COMPRESS_ABOVE)
        for eio_sid in late:
            await self.server._send_eio_packet(eio_sid, pkt)
        for sock in stalled:
            await sock.close(wait=False, abort=True)

    def _deliver(self, participants: Any, skip: list[Any], pkt: Any, wire: bytes,
                 small: bool) -> tuple[list[str], list[Any]]:
        """The synchronous pass (no ``await``: no other emit can interleave with it).

        Returns the sessions left for after it: gone or timed out (engineio's ``send`` cleans
        them up) and stalled long-polling sessions (closed)."""
        eio = self.server.eio
        sockets = eio.sockets
        timeout = eio.ping_timeout
        now = time.time()
        late: list[str] = []
        stalled: list[Any] = []
        written = queued = evicted = closing = 0
        batch = self._batch
        for sid, eio_sid in participants:
            if sid in skip:
                continue
            sock = sockets.get(eio_sid)
            if sock is None or sock.closed or (sock.last_ping and now - sock.last_ping > timeout):
                late.append(eio_sid)
                continue
            link = getattr(sock, wslink.ATTRIBUTE, None)
            if link is not None and not link.open():
                # its WebSocket is closing: nothing queued now would ever be sent, and a room
                # whose clients leave together would queue every leave notice in every queue
                closing += 1
                continue
            if (link is not None and wslink.idle(sock) and (small or not link.deflate)
                    and link.writable()):
                batch.add(link, wire)
                written += 1
            elif sock.queue.qsize() < MAX_BACKLOG:
                sock.queue.put_nowait(pkt)  # what engineio's socket.send does
                queued += 1
            elif link is not None:
                if not link.transport.is_closing():  # (cut already: gone next loop pass)
                    link.abort()  # a WebSocket reader that stopped reading
                    evicted += 1
            elif not sock.closing:
                stalled.append(sock)
                evicted += 1
        stats = self.stats
        stats["written"] += written
        stats["queued"] += queued
        stats["evicted"] += evicted
        stats["late"] += len(late)
        stats["closing"] += closing
        if written and self.on_sent is not None:
            self.on_sent(written)
        return late, stalled


def fast(manager_class: type[socketio.AsyncManager]) -> type[socketio.AsyncManager]:
    """``manager_class`` (e.g. ``socketio.AsyncRedisManager``) with the fast path for its local
    deliveries: ``fast(socketio.AsyncRedisManager)(url)``."""
    if manager_class is socketio.AsyncManager:
        return FanoutManager
    return type(f"Fast{manager_class.__name__}", (manager_class, FanoutManager), {})


class FanoutServer(GuardedServer):
    """The guarded ``AsyncServer`` with linked sessions and a :class:`FanoutManager`
    (``client_manager`` may be another manager made with :func:`fast`)."""

    def __init__(self, **kwargs: Any) -> None:
        manager = kwargs.get("client_manager")
        if manager is None:
            manager = kwargs["client_manager"] = FanoutManager()
        if isinstance(manager, FanoutManager):
            manager.fast_fanout = enabled()
        super().__init__(**kwargs)

    def _engineio_server_class(self) -> type:
        return wslink.LinkedEngineIO
