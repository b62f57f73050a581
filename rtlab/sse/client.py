"""``ReconnectingEventSource``: an SSE client that resumes where it left off.

httpx opens the request (through httpx-sse's ``aconnect_sse``, which sets
``Accept: text/event-stream`` and ``Cache-Control: no-store``) and
:class:`~rtlab.sse.parser.EventStreamParser` reads the bytes. Around them this
shell adds what the WHATWG processing model (HTML §9.2.3) asks of an
``EventSource`` and what httpx-sse leaves out, recording every step on a
:class:`~rtlab.state.Timeline`:

* **Honest states.** ``connected`` is entered once the response head says
  ``200`` and ``text/event-stream`` (the SSE handshake), never before.
* **Stop for good when told to** (§9.2.3 "fail the connection"): ``204 No
  Content`` means "no more events for you": the client goes ``disconnected``
  and stays there. Any other status, or a ``Content-Type`` that is not
  ``text/event-stream``, is an error that no retry will fix (a 401 stays a
  401): the client goes to ``error`` with a message naming the status, and
  ``recv()`` raises :class:`EventSourceFailed`. ``retry_statuses`` opts in to
  retrying some statuses (e.g. 503) anyway; the spec does not.
* **Resume.** The last event id is sent as ``Last-Event-ID`` on every
  reconnect (§9.2.4), so a server with a replay buffer fills the gap.
* **``retry:`` honoured.** After a dropped stream the first attempt waits the
  server's reconnection time exactly (``retry`` until the server says
  otherwise). If attempts keep failing, attempt ``n >= 2`` waits
  ``max(retry, policy delay n-1)``: the server's wish is a floor, the backoff
  policy spreads a crowd. ``max_attempts`` consecutive failures end in
  ``error``.
* **Half-open links.** With ``idle_timeout`` set, a stream on which nothing
  (not even a keep-alive) arrives for that long is presumed dead and replaced:
  a frozen server is noticed within ``idle_timeout`` seconds.
* **Bounded memory.** Unread events wait in an inbox of ``inbox_size``; if
  nobody reads, the oldest unread ones are dropped, counted in
  ``inbox_dropped`` and noted on the timeline, never silently. One event may
  hold at most ``max_event_size`` bytes (a longer one fails the connection
  with a clear error).
* **Clean close.** ``close()`` cancels its task and the request; nothing is
  left running.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping

import httpx
from httpx_sse import aconnect_sse

from rtlab.backoff import Exponential, Policy
from rtlab.sources import resolve
from rtlab.sse.parser import EventStreamParser, MessageEvent, StreamTooLong
from rtlab.state import (
    ERROR,
    FRAME_IN,
    NOTE,
    ConnectionState,
    Timeline,
)
from rtlab.supervised import Attempts, ClientClosed, Supervised

HeadersSource = Mapping[str, str] | Callable[[], Mapping[str, str] | Awaitable[Mapping[str, str]]]

S = ConnectionState


class EventSourceFailed(ConnectionError):
    """The stream failed for good: a refused status, a wrong content type, or too many
    failed attempts. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Fatal(Exception):
    """Raised inside a session: stop reconnecting (carries the final state and reason)."""

    def __init__(self, state: ConnectionState, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.state, self.reason, self.status = state, reason, status


def _is_event_stream(content_type: str) -> bool:
    """True when the MIME type's essence is text/event-stream (parameters allowed)."""
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


class ReconnectingEventSource(Supervised):
    """An SSE client that reconnects, resumes and honours ``retry:`` (see the module docs).

    Use it as an async context manager or call :meth:`connect` and :meth:`close`.
    Events come out of :meth:`recv` or ``async for`` as
    :class:`~rtlab.sse.parser.MessageEvent` (``.type``, ``.data``, ``.id``,
    ``.json()``), in order; each is also recorded as a ``FRAME_IN`` event.
    """

    task_label = "rtlab-sse"

    def __init__(
        self,
        url: str,
        *,
        retry: float = 3.0,
        policy: Policy | None = None,
        max_attempts: int | None = None,
        idle_timeout: float | None = 30.0,
        open_timeout: float = 5.0,
        headers: HeadersSource | None = None,
        last_event_id: str = "",
        retry_statuses: Collection[int] = (),
        inbox_size: int = 10_000,
        max_event_size: int | None = 8 * 1024 * 1024,
        timeline: Timeline | None = None,
        rng: random.Random | int | None = None,
        name: str = "",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if inbox_size < 1:
            raise ValueError(f"inbox_size must be at least 1, got {inbox_size}")
        if retry < 0:
            raise ValueError(f"retry must be >= 0 seconds, got {retry}")
        self.url = url
        self.name = name or url
        self.retry = float(retry)
        self.policy = policy if policy is not None else Exponential(base=0.5, cap=30, jitter="full")
        self.max_attempts = max_attempts
        self.idle_timeout = idle_timeout
        self.open_timeout = open_timeout
        self.headers = headers
        self.last_event_id = last_event_id
        self.retry_statuses = frozenset(retry_statuses)
        self.max_event_size = max_event_size
        self._init_supervision(timeline)
        self._rng = rng
        self._own_client = client is None
        self._client = client
        self.inbox_size = inbox_size
        self._inbox: deque[MessageEvent] = deque()
        self._readable = asyncio.Event()  # set when events arrive or the client stops
        self._ended = False  # no more events will come (closed, 204, or failed)
        self.last_error: BaseException | None = None
        self.failure: EventSourceFailed | None = None
        self.stop_reason = ""  # why the client stopped for good, once it has
        self.connections = 0
        self.received = 0
        self.inbox_dropped = 0

    # -- public API ---------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """True once the client will not reconnect again (closed, 204, or failed)."""
        return self._ended

    def _prepare(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, follow_redirects=True)

    def _has_stopped(self) -> bool:
        return self._ended or super()._has_stopped()

    def _stopped_error(self) -> BaseException:
        if self.failure is not None:
            return self.failure
        return ClientClosed(f"{self.name}: {self.stop_reason or 'stopped'}")

    async def recv(self) -> MessageEvent:
        """The next event, waiting for it.

        After the stream stopped, the unread events still come out first; then
        :class:`EventSourceFailed` (it failed) or :class:`ClientClosed` (closed, or 204).
        """
        inbox = self._inbox
        if inbox:  # the fast path: no waiting, no task switch
            return inbox.popleft()
        while not inbox:
            if self._ended:
                self._raise_stopped()
            self._readable.clear()
            await self._readable.wait()
        return inbox.popleft()

    def _raise_stopped(self) -> None:
        if self.failure is not None:
            raise self.failure
        raise ClientClosed(f"{self.name}: {self.stop_reason or 'closed'}")

    async def close(self) -> None:
        """Stop for good: cancel a pending reconnect and the open request, end ``recv``."""
        self._closing.set()
        self.stop_reason = self.stop_reason or "closed by the client"
        await self._stop_supervisor()
        self._wake_readers()
        if self._own_client and self._client is not None:
            await self._client.aclose()
        self._mark_closed()

    # -- the connection loop ---------------------------------------------------

    def _wake_readers(self) -> None:
        """No more events will come: wake every ``recv()`` waiter (unread events stay and
        come out first)."""
        self._ended = True
        self._readable.set()

    async def _request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = dict(await resolve(self.headers) or {})
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def _delay(self, attempts: Attempts) -> float:
        """Attempt 1 after a drop: the server's ``retry``; later ones: the policy, floored by it."""
        if attempts.number == 1:
            return self.retry
        return max(self.retry, attempts.next_policy_delay())

    async def _supervise(self) -> None:
        attempts = Attempts(self.policy, self.timeline, max_attempts=self.max_attempts,
                            rng=self._rng)
        try:
            while not self._closing.is_set():
                self._machine.to(S.CONNECTING)
                attempts.starting()
                try:
                    opened = await self._session()
                except _Fatal as fatal:
                    self._stop(fatal)
                    return
                except Exception as exc:  # a bug or a failing headers callable: say so, stop
                    self._stop(_Fatal(S.ERROR, f"unexpected failure: {exc!r}"))
                    return
                if opened:
                    attempts.reset()
                if self._closing.is_set():
                    return
                if attempts.failed():
                    self._stop(_Fatal(S.ERROR, attempts.give_up_detail(self.last_error)))
                    return
                self._machine.to(S.RECONNECTING, str(self.last_error or ""))
                await self._pause(attempts.plan(self._delay(attempts)))
        finally:
            if not self._closing.is_set():
                self._wake_readers()

    def _stop(self, fatal: _Fatal) -> None:
        self.stop_reason = fatal.reason
        if fatal.state is S.ERROR:
            self.failure = EventSourceFailed(f"{self.name}: {fatal.reason}", fatal.status)
            self.last_error = self.failure
            self.timeline.record(ERROR, data=fatal.status, detail=fatal.reason)
        else:
            self.timeline.record(NOTE, data=fatal.status, detail=fatal.reason)
        self._machine.to(fatal.state, fatal.reason)

    async def _session(self) -> bool:
        """One request. Returns True if it got as far as ``connected``; raises _Fatal to stop."""
        assert self._client is not None
        timeout = httpx.Timeout(self.open_timeout, read=self.idle_timeout)
        opened = False
        try:
            headers = await self._request_headers()
            async with aconnect_sse(
                self._client, "GET", self.url, headers=headers, timeout=timeout
            ) as source:
                self._check(source.response)
                opened = True
                self.connections += 1
                self._machine.to(S.CONNECTED)
                await self._read(source.response)
            self.last_error = ConnectionError("the server ended the stream")
            self.timeline.record(NOTE, detail="stream ended by the server")
        except asyncio.CancelledError:
            raise
        except _Fatal:
            raise
        except httpx.ReadTimeout:
            self.last_error = TimeoutError(
                f"nothing received for {self.idle_timeout}s: link presumed dead"
            )
            self.timeline.record(NOTE, detail=str(self.last_error))
        except (httpx.HTTPError, OSError) as exc:
            self.last_error = exc
            if opened:
                self.timeline.record(NOTE, detail=f"stream lost: {exc!r}")
            else:
                self.timeline.record(ERROR, detail=f"connect failed: {exc!r}")
        except StreamTooLong as exc:
            self.last_error = exc
            raise _Fatal(S.ERROR, str(exc)) from None
        return opened

    def _check(self, response: httpx.Response) -> None:
        """The SSE handshake (§9.2.3): 200 + text/event-stream, else stop (or retry if asked)."""
        status = response.status_code
        if status == 204:
            raise _Fatal(S.DISCONNECTED, "server answered 204 No Content: no more events", 204)
        if status != 200:
            reason = f"HTTP {status} {response.reason_phrase}".rstrip()
            if status in self.retry_statuses:
                self.timeline.record(ERROR, data=status, detail=f"refused: {reason} (will retry)")
                raise httpx.HTTPStatusError(reason, request=response.request, response=response)
            raise _Fatal(S.ERROR, f"refused: {reason}; not retrying (the spec says stop)", status)
        content_type = response.headers.get("content-type", "")
        if not _is_event_stream(content_type):
            raise _Fatal(
                S.ERROR,
                f"wrong Content-Type {content_type!r} (expected text/event-stream): "
                "not an event stream",
                status,
            )

    async def _read(self, response: httpx.Response) -> None:
        """Feed the parser until the stream ends; deliver each event in order."""
        parser = EventStreamParser(last_event_id=self.last_event_id, max_size=self.max_event_size)
        record = self.timeline.record
        deliver = self._deliver
        try:
            async for chunk in response.aiter_bytes():
                events = parser.feed(chunk)
                self.last_event_id = parser.last_event_id
                retry = parser.retry
                if retry is not None and retry != round(self.retry * 1000):
                    self.retry = retry / 1000.0
                    record(NOTE, data=retry, detail=f"server set retry to {retry} ms")
                if events:
                    for event in events:
                        record(FRAME_IN, data=event)
                        deliver(event)
                    self.received += len(events)
                    self._readable.set()
        finally:
            parser.close()  # an unfinished event is discarded, as the spec says

    def _deliver(self, event: MessageEvent) -> None:
        """Hand an event to ``recv``; if nobody reads, drop the oldest unread one, visibly."""
        inbox = self._inbox
        if len(inbox) >= self.inbox_size:
            inbox.popleft()
            self.inbox_dropped += 1
            if self.inbox_dropped % 1000 == 1:
                self.timeline.record(
                    NOTE,
                    detail=f"inbox full ({self.inbox_size}): {self.inbox_dropped} unread "
                    "events dropped so far; call recv() or raise inbox_size",
                )
        inbox.append(event)


async def take(
    source: ReconnectingEventSource, n: int, *types: str, timeout: float | None = 10.0
) -> list[MessageEvent]:
    """The next ``n`` events of the given types (all types if none), waiting for them.

    Events of other types are read and skipped (they stay on the timeline). ``timeout``
    bounds the whole wait, so a notebook cell never hangs.
    """

    async def collect() -> list[MessageEvent]:
        out: list[MessageEvent] = []
        while len(out) < n:
            event = await source.recv()
            if not types or event.type in types:
                out.append(event)
        return out

    return await asyncio.wait_for(collect(), timeout)
