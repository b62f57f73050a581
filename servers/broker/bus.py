"""Named channels across processes, over one Redis pub/sub connection per process.

``await bus.publish(channel, data)`` reaches every process's handlers for ``channel``, the
publisher's own included: local delivery also goes through Redis, so every process sees the
messages of one channel in the same order. The bus pattern-subscribes once to all of its
channels (``PSUBSCRIBE prefix:*``), as python-socketio's Redis manager listens on one channel:
a process ignores messages for channels it has no handler for, and there is never a
subscribe racing the reader on the shared connection.

A handler gets the payload bytes; it may be a coroutine function (awaited in order).
:meth:`Bus.listen` returns once the subscription is active, so nothing published after it
returns is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("rtlab.broker")

Handler = Callable[[bytes], Awaitable[None] | None]
RETRY_SECONDS = 0.5
READY_SECONDS = 5.0  # how long listen() waits for the first subscription


class Bus:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.handlers: dict[str, list[Handler]] = {}
        self._ready: asyncio.Future[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    def _channel(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    async def publish(self, channel: str, data: bytes | str) -> int:
        """Send ``data`` to ``channel``; returns how many processes listen to the bus."""
        return int(await self.redis.publish(self._channel(channel), data))

    async def listen(self, channel: str, handler: Handler) -> None:
        """Call ``handler(data)`` for each message on ``channel`` from now on."""
        self.on(channel, handler)
        await self.start()

    def on(self, channel: str, handler: Handler) -> None:
        """Add ``handler`` at once (it hears everything from now on once :meth:`start`
        has returned)."""
        self.handlers.setdefault(channel, []).append(handler)

    def unlisten(self, channel: str, handler: Handler) -> None:
        handlers = self.handlers.get(channel, [])
        with contextlib.suppress(ValueError):
            handlers.remove(handler)
        if not handlers:
            self.handlers.pop(channel, None)

    async def start(self) -> None:
        """Subscribe (once per process); returns when messages are being received."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._reader = asyncio.create_task(self._read(self._ready))
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), READY_SECONDS)
        except TimeoutError:
            raise ConnectionError(f"the broker's Redis did not answer within {READY_SECONDS:g} s"
                                  ) from None

    async def _read(self, ready: asyncio.Future[None]) -> None:
        """Receive for as long as the process lives, reconnecting after a Redis failure."""
        cut = len(self.prefix) + 1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._channel("*"))
                if not ready.done():
                    ready.set_result(None)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    name = message["channel"].decode("utf-8", "replace")[cut:]
                    for handler in list(self.handlers.get(name, ())):
                        result = handler(message["data"])
                        if inspect.isawaitable(result):
                            await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: retry, say so
                log.warning("broker bus: %s; retrying in %.1f s", exc, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
