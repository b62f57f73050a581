"""What every reconnecting rtlab client shares: a timeline, the reconnect core, one driver loop.

:func:`drive` is the whole reconnect loop of every client: it asks the core
(:class:`~rtlab.reconnect.Reconnect`) what to do, does it (open an attempt, wait,
refresh credentials) and reports what happened, until the core says stop. The
clients only know how to make one attempt of their own protocol.

:class:`Supervised` gives ``ReconnectingWebSocket``, ``SocketIOClient`` and
``ReconnectingEventSource`` the same ``connect`` / ``state`` / ``wait_for`` / ``close``
skeleton, so notebooks and tests treat them alike. A subclass calls
:meth:`Supervised._init_supervision` in its ``__init__`` and implements
:meth:`Supervised._attempt` (one attempt: open, report ``opened`` to the core, run the
session, say how it ended).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self

from rtlab.backoff import Policy
from rtlab.errors import (
    AuthenticationFailed,
    ClientClosed,
    ConnectionFailed,
    ConnectTimeout,
    IllegalTransition,
)
from rtlab.knobs import positive_or_none
from rtlab.outbox import until_end
from rtlab.reconnect import Decision, Do, Happened, Outcome, Reconnect
from rtlab.state import ERROR, NOTE, ConnectionState, StateMachine, Timeline

#: The clients' clock for the core (seconds; only differences matter).
now = time.monotonic

#: How long ``connect()`` waits unless told otherwise: long enough for a restarting server,
#: short enough that a mistake (a wrong port) gets an answer instead of a silent cell.
CONNECT_WAIT = 10.0


async def drive(core: Reconnect, *, attempt: Callable[[], Awaitable[Outcome]],
                pause: Callable[[float], Awaitable[Any]],
                refresh: Callable[[], Awaitable[Outcome]] | None = None,
                stopping: Callable[[], str] = lambda: "") -> Decision:
    """Run one client's life to its end; returns the final decision (stop or give up).

    ``attempt`` makes one attempt and says how it ended (it reports ``opened`` to the
    core itself, the moment its handshake finishes); ``pause`` waits; ``refresh`` fetches
    fresh credentials; ``stopping`` returns a reason once the client must stop (checked
    before every attempt), or ``""``.
    """
    decision = core.step(Happened.START, now())
    while not decision.final:
        if decision.do is Do.OPEN:
            reason = stopping()
            outcome = Outcome(Happened.CLOSED, reason) if reason else await attempt()
        elif decision.do is Do.WAIT:
            await pause(decision.delay)
            outcome = Outcome(Happened.WAITED)
        elif decision.do is Do.REFRESH and refresh is not None:
            outcome = await refresh()
        else:
            raise IllegalTransition(f"the driver cannot {decision.do.value} here")
        decision = core.step(outcome.happened, now(), outcome.reason, outcome.status)
    return decision


class Reconnecting:
    """What a client whose life :class:`~rtlab.reconnect.Reconnect` decides shows of it."""

    _core: Reconnect

    @property
    def state(self) -> ConnectionState:
        return self._core.machine.state

    @property
    def connected(self) -> bool:
        return self._core.machine.state is ConnectionState.CONNECTED

    @property
    def policy(self) -> Policy:
        return self._core.policy

    @property
    def max_attempts(self) -> int | None:
        return self._core.max_attempts


class Supervised(Reconnecting):
    """Mixin: ``timeline``, ``state``, ``connect``, ``wait_for`` over one supervisor task.

    ``failure`` is the error a stop in ``error`` left (what ``wait_for`` and reads raise),
    ``stop_reason`` why the client stopped for good, once it has.
    """

    name: str
    timeline: Timeline
    _core: Reconnect
    _supervisor: asyncio.Task[None] | None

    #: the supervisor task's name starts with this (``rtlab-ws``, ``rtlab-sse``, ...)
    task_label = "rtlab"

    def _init_supervision(self, timeline: Timeline | None, policy: Policy | None, *,
                          max_attempts: int | None = None,
                          rng: random.Random | int | None = None,
                          server_delay: float | None = None,
                          can_refresh: bool = False) -> None:
        self.timeline = timeline if timeline is not None else Timeline()
        self._state_changed = asyncio.Event()
        self._connected = False  # kept by _on_state: one attribute for the send fast paths
        machine = StateMachine(self.timeline, on_change=self._on_state)
        self._core = Reconnect(policy, self.timeline, max_attempts=max_attempts, rng=rng,
                               server_delay=server_delay, can_refresh=can_refresh,
                               machine=machine)
        self._refusal_pending = False  # a refresh after refused credentials is under way
        self._supervisor = None
        self._closing = asyncio.Event()
        self.last_error: BaseException | None = None
        self.last_outcome: Outcome | None = None  # how the last finished attempt ended
        self.failure: ConnectionFailed | None = None
        self.stop_reason = ""

    # -- the life of the client ----------------------------------------------------------------
    async def _attempt(self) -> Outcome:
        """One attempt of this client's protocol; how it ended (see :func:`drive`)."""
        raise NotImplementedError

    async def _attempt_noted(self) -> Outcome:
        outcome = await self._attempt()
        if outcome.reason:
            self.last_outcome = outcome
        return outcome

    async def _refresh(self) -> Outcome:
        """Fresh credentials after a refusal (clients that can refresh override it)."""
        return Outcome(Happened.FATAL, "no way to refresh the credentials")

    async def _refresh_noted(self) -> Outcome:
        self._refusal_pending = True
        outcome = await self._refresh()
        self._refusal_pending = outcome.happened is not Happened.REFRESHED
        return outcome

    async def _supervise(self) -> None:
        try:
            decision = await drive(self._core, attempt=self._attempt_noted, pause=self._pause,
                                   refresh=self._refresh_noted, stopping=self._stopping)
        except Exception as exc:  # a bug or a failing callback: say so, and stop
            self.last_error = exc
            decision = self._core.step(Happened.FATAL, now(), f"unexpected failure: {exc!r}")
        self._stopped(decision)

    def _stopping(self) -> str:
        return "closed by the client" if self._closing.is_set() else ""

    def _opened(self, detail: str = "") -> None:
        """The handshake finished: tell the core (the client is ``connected`` now)."""
        self._core.step(Happened.OPENED, now(), detail)

    def _stopped(self, decision: Decision) -> None:
        """The core said stop: keep the reason, and the error when it stopped in ``error``."""
        self.stop_reason = decision.reason
        if decision.happened is Happened.CLOSED:
            return
        if decision.state is ConnectionState.ERROR:
            self.failure = self._failure(decision)
            self.timeline.record(ERROR, data=decision.status, detail=decision.reason)
        else:
            self.timeline.record(NOTE, data=decision.status, detail=decision.reason)

    def _failure(self, decision: Decision) -> ConnectionFailed:
        """The error for a stop in ``error``: refused credentials, or any other failure."""
        refused = decision.happened is Happened.REFUSED or self._refusal_pending
        cls = AuthenticationFailed if refused else ConnectionFailed
        return cls(f"{self.name} stopped in state {decision.state}: {decision.reason}",
                   decision.status)

    def _prepare(self) -> None:
        """Called once, just before the supervisor starts (e.g. to open an HTTP client)."""

    async def connect(self, *, wait: bool = True, timeout: float | None = CONNECT_WAIT) -> None:
        """Start connecting (and reconnecting); with ``wait``, return once connected.

        Raises the client's stop error (:meth:`_stopped_error`) if it stops first (a failure
        no retry can fix stops at once, with the cause), and
        :class:`~rtlab.errors.ConnectTimeout` (a ``TimeoutError``) naming what the last
        attempt got if ``timeout`` seconds pass (``None``: wait for ever). The client keeps
        trying after a timeout, until :meth:`close`.
        """
        positive_or_none("timeout", timeout)
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
        self._core.step(Happened.CLOSED, now(), "closed by the client")
        self.stop_reason = self.stop_reason or "closed by the client"

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        """Messages until the client is closed; any other error is raised."""
        return until_end(self.recv, ClientClosed)

    def _on_state(self, state: ConnectionState) -> None:
        self._connected = state is ConnectionState.CONNECTED
        self._state_changed.set()

    def _has_stopped(self) -> bool:
        """True once the supervisor will change no state again."""
        return self._supervisor is not None and self._supervisor.done()

    def _stopped_error(self) -> BaseException:
        """The error ``wait_for`` raises once the client has stopped short of the target."""
        if self.failure is not None:
            return self.failure
        return ClientClosed(f"{self.name} stopped in state {self.state}: "
                            f"{self.stop_reason or 'closed'}")

    async def wait_for(self, state: ConnectionState | str, *, timeout: float | None = None) -> None:
        """Wait until the client is in ``state``; fail fast if it stops (gives up, closes) first.

        After ``timeout`` seconds: :class:`~rtlab.errors.ConnectTimeout`, saying what the
        last attempt got."""
        target = ConnectionState(state)

        async def waiting() -> None:
            while self.state is not target:
                if self._has_stopped():
                    raise self._stopped_error()
                self._state_changed.clear()
                await self._state_changed.wait()

        try:
            await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            assert timeout is not None
            raise self._timeout_error(target, timeout) from None

    def _timeout_error(self, target: ConnectionState, timeout: float) -> ConnectTimeout:
        """A timeout that says where the client is and what its last attempt got."""
        attempts = self._core.attempt
        tried = f"{attempts} reconnect attempt{'s' if attempts != 1 else ''} so far"
        last = self.last_outcome
        if last is not None:
            got = f"last attempt: {last.reason}"
        else:
            got = "the first attempt has not finished yet"
        return ConnectTimeout(
            f"{self.name}: not {target.value} after {timeout:g}s (state {self.state.value}, "
            f"{tried}); {got}. It keeps trying until close().", self.last_error)
