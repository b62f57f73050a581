"""What every reconnecting rtlab client shares: a timeline, a state machine, and waiting on it.

``ReconnectingWebSocket``, ``SocketIOClient`` and ``ReconnectingEventSource`` each run
one supervisor task that connects, reconnects and finally stops; this base gives them
the same ``state`` / ``connected`` / ``wait_for`` so notebooks and tests treat them
alike. A subclass calls :meth:`_init_supervision` in its ``__init__``, stores its
supervisor task in ``self._supervisor``, and says in :meth:`_stopped_error` why it
stopped (the exception ``wait_for`` raises once no further state can come).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from rtlab.state import STATE, ConnectionState, Event, StateMachine, Timeline


class ConnectionFailed(ConnectionError):
    """The client gave up (max attempts reached, credentials refused) before connecting."""


class ClientClosed(ConnectionError):
    """The client was closed (or its server ended the stream for good): nothing more comes."""


class Supervised:
    """Mixin: ``timeline``, ``state``, ``connected`` and ``wait_for`` over one supervisor task."""

    name: str
    timeline: Timeline
    _machine: StateMachine
    _supervisor: asyncio.Task[None] | None

    #: the supervisor task's name starts with this (``rtlab-ws``, ``rtlab-sse``, ...)
    task_label = "rtlab"

    def _init_supervision(self, timeline: Timeline | None) -> None:
        self.timeline = timeline if timeline is not None else Timeline()
        self._machine = StateMachine(self.timeline)
        self._supervisor = None
        self._state_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self.timeline.subscribe(self._on_timeline_event)

    async def _supervise(self) -> None:
        """Connect, reconnect, stop: each client's own loop."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Called once, just before the supervisor starts (e.g. to open an HTTP client)."""

    async def connect(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Start connecting (and reconnecting); with ``wait``, return once connected.

        Raises the client's stop error (:meth:`_stopped_error`) if it stops first, and
        ``TimeoutError`` if ``timeout`` passes (the client keeps trying).
        """
        if self._closing.is_set():
            raise ClientClosed(f"{self.name} is closed")
        if self._supervisor is None:
            self._prepare()
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name=f"{self.task_label} {self.name}"
            )
        if wait:
            await self.wait_for(ConnectionState.CONNECTED, timeout=timeout)

    async def recv(self) -> Any:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        """Messages until the client is closed; any other error is raised."""
        while True:
            try:
                yield await self.recv()
            except ClientClosed:
                return

    def _on_timeline_event(self, event: Event) -> None:
        if event.kind == STATE:
            self._state_changed.set()

    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def connected(self) -> bool:
        return self._machine.state is ConnectionState.CONNECTED

    def _has_stopped(self) -> bool:
        """True once the supervisor will change no state again."""
        return self._supervisor is not None and self._supervisor.done()

    def _stopped_error(self) -> BaseException:
        """The error ``wait_for`` raises once the client has stopped short of the target."""
        return ConnectionError(f"{self.name} stopped in state {self.state}")

    async def wait_for(self, state: ConnectionState | str, *, timeout: float | None = None) -> None:
        """Wait until the client is in ``state``; fail fast if it stops (gives up, closes) first."""
        target = ConnectionState(state)

        async def waiting() -> None:
            while self.state is not target:
                if self._has_stopped():
                    raise self._stopped_error()
                self._state_changed.clear()
                await self._state_changed.wait()

        await asyncio.wait_for(waiting(), timeout)
