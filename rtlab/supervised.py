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
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Self

from rtlab.backoff import Policy
from rtlab.state import ATTEMPT, BACKOFF, STATE, ConnectionState, Event, StateMachine, Timeline


class ConnectionFailed(ConnectionError):
    """The client gave up (max attempts reached, credentials refused) before connecting."""


class ClientClosed(ConnectionError):
    """The client was closed (or its server ended the stream for good): nothing more comes."""


class Attempts:
    """Reconnect bookkeeping, the same in every client.

    Attempts are numbered from 1 after each drop and start again only after a
    finished handshake (:meth:`reset`); each planned delay is recorded as a
    ``backoff`` event when planned, and each attempt as an ``attempt`` event with
    the planned and the actual wait when it starts, so a widget can draw both.
    """

    def __init__(self, policy: Policy, timeline: Timeline, *, max_attempts: int | None = None,
                 rng: random.Random | int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.timeline, self.max_attempts = policy, timeline, max_attempts
        self.rng, self.clock = rng, clock
        self.number = 0
        self.planned: float | None = None
        self._scheduled_at = 0.0
        self._delays = policy.delays(rng)

    def reset(self) -> None:
        """A handshake finished: the next failure is attempt 1 again, with a fresh policy."""
        self.number = 0
        self._delays = self.policy.delays(self.rng)

    def starting(self) -> None:
        """Record the start of a retry (nothing for the very first connect)."""
        if self.number:
            actual = self.clock() - self._scheduled_at
            self.timeline.record(ATTEMPT, attempt=self.number, delay=self.planned, actual=actual)

    def failed(self) -> bool:
        """Count one more attempt; True when ``max_attempts`` are spent (time to give up)."""
        self.number += 1
        return self.max_attempts is not None and self.number > self.max_attempts

    def next_policy_delay(self) -> float:
        return next(self._delays)

    def plan(self, delay: float | None = None, detail: str = "") -> float:
        """Plan the wait before this attempt (the policy's, unless given) and record it."""
        self.planned = self.next_policy_delay() if delay is None else delay
        self.timeline.record(BACKOFF, attempt=self.number, delay=self.planned, detail=detail)
        self._scheduled_at = self.clock()
        return self.planned

    def give_up_detail(self, last_error: object) -> str:
        return f"gave up after {self.max_attempts} reconnect attempts: {last_error!r}"


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

    async def _pause(self, seconds: float) -> None:
        """Wait out a backoff delay, or less if the client is closed meanwhile."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def recv(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _stop_supervisor(self) -> None:
        """Cancel the supervisor and wait for it; its failures are on the timeline already."""
        task = self._supervisor
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _mark_closed(self) -> None:
        if self.state is not ConnectionState.DISCONNECTED:
            self._machine.to(ConnectionState.DISCONNECTED, "closed by the client")

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

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
