"""The reconnect core: what a client does next, decided by a table.

Theory of operation
===================

Every rtlab client (``ReconnectingWebSocket``, ``SocketIOClient``,
``ReconnectingEventSource``, ``WebSocketLink``) lives the same life, whatever its
protocol, and everything that decides that life lives in this file::

    disconnected --start--> connecting --opened--> connected
                                |   ^                  |
                       failed / |   | waited           | dropped
                                v   |                  v
                            reconnecting  <------------+
                                |
                                +-- max_attempts spent --> error (gave up)

1. ``start``: the client makes its first attempt; it is ``connecting``.
2. ``opened``: the handshake finished (a WebSocket upgrade, an SSE ``200``, every
   Socket.IO namespace accepted, a ``connection_ack``). Only now is it ``connected``,
   and the attempt counter and the backoff policy start afresh: the next failure is
   attempt 1 again.
3. ``dropped`` (a live session ended: the link was lost, the peer closed with a code
   worth retrying, a heartbeat went unanswered) and ``failed`` (an attempt ended
   before it opened, in a way a retry may fix: refused port, reset, timeout, 5xx) both
   lead to ``reconnecting`` and a wait. Attempt *n* waits the policy's *n*-th delay;
   when the server asked for a delay (SSE ``retry:``), attempt 1 waits exactly that
   and later attempts at least that (the server's wish is a floor, the policy spreads
   a crowd). Once ``max_attempts`` attempts in a row failed, the client gives up and
   ends in ``error``. ``waited``: the wait is over, the next attempt starts.
4. ``refused``: the peer refused the credentials (WebSocket close 4403, Socket.IO
   ``UNAUTHENTICATED``). The same credentials would be refused again, so the client
   refreshes them once (when it can) and opens again at once; ``refreshed`` says the
   new ones are ready. A second refusal before any session lived ``refresh_window``
   seconds, or a refusal with no way to refresh, ends in ``error``. A session that
   lived longer than that window earns a fresh refresh (a token that *expired*).
5. ``fatal``: a failure no retry can fix (a bad URL or scheme, a 4xx answer other
   than 408/429, a close code naming a client error such as 4400, a refusal by server
   middleware, SSE's wrong content type, a refresh that failed): stop at once in
   ``error``, with the reason. Which outcome a failure is, is the driver's call (its
   protocol knows); for an HTTP status every driver asks :func:`status_outcome` (408,
   429 and 5xx are worth a retry, any other refusal is not), for a GraphQL close code
   :func:`rtlab.graphql.wsprotocol.close_kind`. A refused port stays ``failed``: a
   server that is restarting refuses connections for a moment.
6. ``ended``: the server said "no more" (SSE ``204``, a Socket.IO server-side
   disconnect): stop in ``disconnected``.
7. ``closed``: the client's own ``close()`` (or the last subscription gone): stop in
   ``disconnected`` from wherever it was.

:data:`TABLE` holds these rules as data: ``(what happened, state, budget left)`` ->
``(what to do, next state)``. :class:`Reconnect` looks the row up, keeps the attempt
numbers, plans the waits and records them on the client's timeline (a ``backoff``
event with the planned delay when it is planned, an ``attempt`` event with planned
and actual wait when the attempt starts), and hands the driver a :class:`Decision`.
The driver (the asyncio client) only does what the decision says: open, run the
session, wait, refresh, or stop, and reports what happened next. No I/O and no clock
here: the caller passes ``now``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from enum import StrEnum
from typing import NamedTuple

from rtlab.backoff import Exponential, Policy
from rtlab.errors import IllegalTransition
from rtlab.knobs import count, non_negative
from rtlab.state import ATTEMPT, BACKOFF, ConnectionState, StateMachine, Timeline

S = ConnectionState


class Happened(StrEnum):
    """What a driver reports: the outcome of the last thing the core asked for."""

    START = "start"  # connect() was called (or a subscription needs a link)
    OPENED = "opened"  # the handshake finished: the session is live
    DROPPED = "dropped"  # a live session ended in a way a retry may fix
    FAILED = "failed"  # an attempt ended before it opened, in a way a retry may fix
    WAITED = "waited"  # the planned wait is over
    REFUSED = "refused"  # the credentials were refused
    REFRESHED = "refreshed"  # fresh credentials are ready
    FATAL = "fatal"  # a failure that no retry can fix
    ENDED = "ended"  # the server said "no more" (SSE 204)
    CLOSED = "closed"  # the client closed itself


class Do(StrEnum):
    """What the driver does next."""

    OPEN = "open"  # make an attempt now
    RUN = "run"  # the session is live: run it until it ends, then report how
    WAIT = "wait"  # wait ``delay`` seconds (unless closed meanwhile), then report WAITED
    REFRESH = "refresh"  # refresh the credentials, then report REFRESHED (or FATAL)
    STOP = "stop"  # stop for good, in ``state``, for ``reason``
    GIVE_UP = "give up"  # ``max_attempts`` spent: stop for good in ``error``


#: ``budget`` column: for ``dropped``/``failed``, whether ``max_attempts`` allows another
#: attempt; for ``refused``, whether a refresh is left; ``None`` where no budget applies.
Key = tuple[Happened, ConnectionState, bool | None]

H = Happened
_ANY_STATE = tuple(ConnectionState)

#: (what happened, the state it happened in, budget left) -> (what to do, the next state).
#: Everything a client decides about its connection is a row here; a combination that
#: is not a row is a driver bug and raises :class:`~rtlab.errors.IllegalTransition`.
TABLE: dict[Key, tuple[Do, ConnectionState]] = {
    (H.START, S.DISCONNECTED, None): (Do.OPEN, S.CONNECTING),
    (H.START, S.ERROR, None): (Do.OPEN, S.CONNECTING),
    (H.OPENED, S.CONNECTING, None): (Do.RUN, S.CONNECTED),
    (H.FAILED, S.CONNECTING, True): (Do.WAIT, S.RECONNECTING),
    (H.FAILED, S.CONNECTING, False): (Do.GIVE_UP, S.ERROR),
    (H.DROPPED, S.CONNECTED, True): (Do.WAIT, S.RECONNECTING),
    (H.DROPPED, S.CONNECTED, False): (Do.GIVE_UP, S.ERROR),
    (H.WAITED, S.RECONNECTING, None): (Do.OPEN, S.CONNECTING),
    (H.REFUSED, S.CONNECTING, True): (Do.REFRESH, S.RECONNECTING),
    (H.REFUSED, S.CONNECTING, False): (Do.STOP, S.ERROR),
    (H.REFUSED, S.CONNECTED, True): (Do.REFRESH, S.RECONNECTING),
    (H.REFUSED, S.CONNECTED, False): (Do.STOP, S.ERROR),
    (H.REFRESHED, S.RECONNECTING, None): (Do.OPEN, S.CONNECTING),
    (H.FATAL, S.CONNECTING, None): (Do.STOP, S.ERROR),
    (H.FATAL, S.CONNECTED, None): (Do.STOP, S.ERROR),
    (H.FATAL, S.RECONNECTING, None): (Do.STOP, S.ERROR),
    (H.ENDED, S.CONNECTING, None): (Do.STOP, S.DISCONNECTED),
    (H.ENDED, S.CONNECTED, None): (Do.STOP, S.DISCONNECTED),
    **{(H.CLOSED, state, None): (Do.STOP, S.DISCONNECTED) for state in _ANY_STATE},
}

#: Outcomes whose row depends on the attempt budget or the refresh budget.
_ATTEMPT_BUDGET = frozenset({H.FAILED, H.DROPPED})
_REFRESH_BUDGET = frozenset({H.REFUSED})

#: What a client reconnects with unless given a policy: 0.5 s doubling to 10 s, full jitter.
DEFAULT_POLICY = Exponential(base=0.5, cap=10, jitter="full")

REFUSED_AGAIN = "refused again after a token refresh"
REFRESHED_NOW = "credentials refreshed: reconnect at once"


#: HTTP statuses below 500 that a retry may still fix: Request Timeout, Too Many Requests.
RETRYABLE_STATUSES = frozenset({408, 429})


def status_outcome(status: int) -> Happened:
    """An attempt the server answered with HTTP ``status`` instead of opening: ``failed``
    (retry) for 408, 429 and 5xx, ``fatal`` for any other status (a wrong path, a refused
    upgrade, a method or a client error: asking again gets the same answer)."""
    return H.FAILED if status >= 500 or status in RETRYABLE_STATUSES else H.FATAL


def table_rows() -> list[tuple[str, str, str, str, str]]:
    """The table as ``(happened, state, budget, do, next state)`` strings, for printing."""
    budget = {None: "-", True: "left", False: "spent"}
    return [(h.value, s.value, budget[b], do.value, nxt.value)
            for (h, s, b), (do, nxt) in TABLE.items()]


class Outcome(NamedTuple):
    """What a driver reports back: what happened, why in words, and the HTTP status or
    close code behind it (if any)."""

    happened: Happened
    reason: str = ""
    status: int | None = None


class Decision(NamedTuple):
    """What the core decided: do ``do`` and be in ``state``; why, in ``reason``.

    ``delay`` is the planned wait (``WAIT``), ``attempt`` the attempt it leads to,
    ``happened`` the outcome that led here, ``status`` the HTTP status or close code
    the driver reported with it (kept for the error a stop raises).
    """

    do: Do
    state: ConnectionState
    reason: str = ""
    delay: float = 0.0
    attempt: int = 0
    happened: Happened = H.START
    status: int | None = None

    @property
    def final(self) -> bool:
        """True when nothing more will happen: the driver stops."""
        return self.do in (Do.STOP, Do.GIVE_UP)


class Reconnect:
    """One client's reconnect decisions, attempt numbers and planned waits (module docs).

    ``policy`` plans the waits (``rng`` seeds its jitter; None: :data:`DEFAULT_POLICY`);
    ``max_attempts`` consecutive
    failed attempts give up (``None``: never). ``can_refresh`` says whether the driver can
    fetch fresh credentials after a refusal; ``refresh_window`` is how long a session must
    live before a later refusal earns another refresh. ``server_delay`` (seconds), when
    set, is the server's wish for the wait (SSE ``retry:``): exact for attempt 1, a floor
    after. The state machine and the timeline are the client's: every decided state
    change and every planned and started attempt is recorded there.
    """

    def __init__(self, policy: Policy | None, timeline: Timeline, *,
                 max_attempts: int | None = None,
                 rng: random.Random | int | None = None, can_refresh: bool = False,
                 refresh_window: float = 1.0, server_delay: float | None = None,
                 machine: StateMachine | None = None) -> None:
        if max_attempts is not None:
            count("max_attempts", max_attempts)
        non_negative("refresh_window", refresh_window)
        self.policy = policy = DEFAULT_POLICY if policy is None else policy
        self.timeline, self.max_attempts = timeline, max_attempts
        self.rng, self.can_refresh, self.refresh_window = rng, can_refresh, refresh_window
        self.server_delay = server_delay
        self.machine = machine if machine is not None else StateMachine(timeline)
        self.attempt = 0  # the number of the attempt being planned or made (0: the first connect)
        self.planned: float | None = None
        self.refreshed = False  # a refresh is spent and no session has outlived the window since
        self.opened_at: float | None = None
        self.last: Decision | None = None
        self._delays: Iterator[float] = policy.delays(rng)
        self._scheduled_at = 0.0

    @property
    def state(self) -> ConnectionState:
        return self.machine.state

    def budget(self, happened: Happened) -> bool | None:
        """The ``budget`` column for ``happened`` right now (see :data:`TABLE`)."""
        if happened in _ATTEMPT_BUDGET:
            return self.max_attempts is None or self.attempt + 1 <= self.max_attempts
        if happened in _REFRESH_BUDGET:
            return self.can_refresh and not self.refreshed
        return None

    def step(self, happened: Happened, now: float, reason: str = "",
             status: int | None = None) -> Decision:
        """Report what happened (at time ``now``); get what to do next, already recorded."""
        state = self.machine.state
        if state is S.CONNECTED and happened in (H.DROPPED, H.REFUSED, H.FATAL, H.ENDED):
            self._session_ended(now)
        key = (happened, state, self.budget(happened))
        row = TABLE.get(key)
        if row is None:
            raise IllegalTransition(
                f"no rule for {happened.value!r} in state {state.value} "
                f"(budget {key[2]}); the reconnect table has no such row"
            )
        do, next_state = row
        decision = self._decide(do, next_state, happened, now, reason, status)
        self.machine.to(next_state, decision.reason)
        self.last = decision
        return decision

    # -- the bookkeeping behind each row -------------------------------------------------------
    def _decide(self, do: Do, state: ConnectionState, happened: Happened, now: float,
                reason: str, status: int | None) -> Decision:
        if do is Do.RUN:
            self.attempt, self.opened_at = 0, now
            self._delays = self.policy.delays(self.rng)
        elif do is Do.WAIT:
            self.attempt += 1
            delay = self._plan_delay()
            self._schedule(delay, now)
            return Decision(do, state, reason, delay, self.attempt, happened, status)
        elif do is Do.REFRESH:
            self.attempt += 1  # the reconnect with fresh credentials is a numbered attempt
            self.refreshed = True
        elif do is Do.OPEN:
            if happened is H.START:  # a new life (a link restarted after it stopped)
                self.attempt, self.refreshed, self.opened_at = 0, False, None
                self._delays = self.policy.delays(self.rng)
            if happened is H.REFRESHED:
                self._schedule(0.0, now, REFRESHED_NOW)
            if self.attempt:
                self.timeline.record(ATTEMPT, attempt=self.attempt, delay=self.planned,
                                     actual=now - self._scheduled_at)
        elif do is Do.GIVE_UP:
            reason = f"gave up after {self.max_attempts} reconnect attempts: {reason}"
        elif do is Do.STOP and happened is H.REFUSED and self.refreshed:
            reason = f"{reason} ({REFUSED_AGAIN})"
        return Decision(do, state, reason, 0.0, self.attempt, happened, status)

    def _session_ended(self, now: float) -> None:
        """A live session ended: one that outlived ``refresh_window`` earns a fresh refresh."""
        if self.opened_at is not None and now - self.opened_at >= self.refresh_window:
            self.refreshed = False
        self.opened_at = None

    def _plan_delay(self) -> float:
        if self.server_delay is None:
            return next(self._delays)
        if self.attempt == 1:
            return self.server_delay
        return max(self.server_delay, next(self._delays))

    def _schedule(self, delay: float, now: float, detail: str = "") -> None:
        self.planned, self._scheduled_at = delay, now
        self.timeline.record(BACKOFF, attempt=self.attempt, delay=delay, detail=detail)


__all__ = ["DEFAULT_POLICY", "RETRYABLE_STATUSES", "TABLE", "Decision", "Do", "Happened",
           "Outcome", "Reconnect", "status_outcome", "table_rows"]
