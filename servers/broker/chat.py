"""``/ws/chat`` rooms across workers: a room's messages go through the broker's bus.

:class:`servers.websocket.ChatHub` keeps its local members as before; with a relay, a
``message`` is published to the room's channel instead of being written to the members
directly, and each worker with members in that room writes what it hears to them (the
sender's worker too: every member sees one order). Publishing goes through one queue and
one task per worker, so one sender's messages leave in the order they were sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from servers.broker import Broker

log = logging.getLogger("rtlab.broker")

QUEUE_LIMIT = 10_000


class ChatRelay:
    def __init__(self, broker: Broker, deliver: Callable[[str, str], int]) -> None:
        self.bus = broker.bus
        self.deliver = deliver  # (room, text) -> local members reached
        self.outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_LIMIT)
        self.handlers: dict[str, Callable[[bytes], None]] = {}
        self.sender: asyncio.Task[None] | None = None

    @staticmethod
    def channel(room: str) -> str:
        return f"ws:chat:{room}"

    async def start(self) -> None:
        await self.bus.start()
        if self.sender is None:
            self.sender = asyncio.create_task(self._send_all())

    def watch(self, room: str) -> None:
        """Deliver the room's messages here (call when its first local member joins)."""
        if room not in self.handlers:
            handler = self.handlers[room] = lambda data, room=room: self._deliver(room, data)
            self.bus.on(self.channel(room), handler)

    def unwatch(self, room: str) -> None:
        handler = self.handlers.pop(room, None)
        if handler is not None:
            self.bus.unlisten(self.channel(room), handler)

    def _deliver(self, room: str, data: bytes) -> None:
        self.deliver(room, data.decode("utf-8", "replace"))

    def send(self, room: str, text: str) -> None:
        try:
            self.outbox.put_nowait((room, text))
        except asyncio.QueueFull:
            log.warning("broker: /ws/chat outbox full, a message to %r was dropped", room)

    async def _send_all(self) -> None:
        while True:
            room, text = await self.outbox.get()
            with contextlib.suppress(Exception):
                await self.bus.publish(self.channel(room), text)
