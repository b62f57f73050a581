"""python-engineio's client, with its end-of-link signal kept (python-engineio 4.15).

When the client's reader gives up on a silent link ("Server has stopped communicating") it
puts ``None`` on the send queue and waits for the writer to end. The writer sends what it
finds in batches: if that ``None`` comes out of the queue *behind* a packet (a call's re-send
made in the same instant), the writer drops it, sends the packet and goes on waiting for
more. The reader waits for it for good: the dead link is never reported, no reconnect, and
every call on it times out. A re-send timed to the heartbeat (an ``ack_timeout`` that divides
``pingInterval + pingTimeout``) makes that instant likely, on a busy machine most of all.

:class:`SocketIOAsyncClient` is ``socketio.AsyncClient`` whose Engine.IO client uses
:class:`KeptSentinelQueue`: a ``None`` taken out behind a packet while the client is still
connected is put back, so the writer finds it next and ends, as it does when ``None`` comes
alone. (Once disconnected, the client empties its queue the same way: then it stays out.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
import socketio


class KeptSentinelQueue(asyncio.Queue):
    """An ``asyncio.Queue`` whose ``get_nowait`` puts back a ``None`` it hands out while
    ``owner`` is connected (the writer's batching, which would drop it)."""

    def __init__(self, owner: engineio.AsyncClient, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        if item is None and self.owner.state == "connected":
            self.put_nowait(None)
        return item


class EngineIOClient(engineio.AsyncClient):
    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue:
        return KeptSentinelQueue(self, *args, **kwargs)


class SocketIOAsyncClient(socketio.AsyncClient):
    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return EngineIOClient
