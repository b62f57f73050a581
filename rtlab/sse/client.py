"""``ReconnectingEventSource``: an SSE client that resumes where it left off.

httpx opens the request (through httpx-sse's ``aconnect_sse``, which sets
``Accept: text/event-stream`` and ``Cache-Control: no-store``) and
:class:`~rtlab.sse.parser.EventStreamParser` reads the bytes. Around them this
shell adds what the WHATWG processing model (HTML §9.2.3) asks of an
``EventSource`` and what httpx-sse leaves out, recording every step on a
:class:`~rtlab.state.Timeline`; :mod:`rtlab.reconnect` decides what comes next:

* **Honest states.** ``connected`` is entered once the response head says
  ``200`` and ``text/event-stream`` (the SSE handshake), never before.
* **Stop for good when told to** (§9.2.3 "fail the connection"): ``204 No
  Content`` means "no more events for you": the client goes ``disconnected``
  and stays there. Any other status, or a ``Content-Type`` that is not
  ``text/event-stream``, is an error that no retry will fix (a 401 stays a
  401): the client goes to ``error`` with a message naming the status, the
  ``Content-Type`` and the first bytes of the answer (a URL that is not an
  event stream says so), and ``recv()`` raises
  :class:`~rtlab.errors.ConnectionFailed`. ``retry_statuses`` opts in to
  retrying some statuses (e.g. 503) anyway; the spec does not.
* **Resume.** The last event id is sent as ``Last-Event-ID`` on every
  reconnect (§9.2.4), so a server with a replay buffer fills the gap.
* **``retry:`` honoured.** After a dropped stream the first attempt waits the
  server's reconnection time exactly (``retry`` until the server says
  otherwise). If attempts keep failing, attempt ``n >= 2`` waits
  ``max(retry, policy delay n-1)``: the server's wish is a floor, the backoff
  policy spreads a crowd. ``max_attempts`` consecutive failures end in
  ``error``.
* **Half-open links.** With ``heartbeat_timeout`` set, a stream on which nothing
  (not even a keep-alive comment) arrives for that long is presumed dead and
  replaced: a frozen server is noticed within ``heartbeat_timeout`` seconds. SSE
  has no client ping, so there is no ``heartbeat_interval``: the server's comments
  are the heartbeat.
* **Bounded memory.** Unread events wait in an inbox of ``inbox_size``; if
  nobody reads, the oldest unread ones are dropped, counted in
  ``inbox_dropped`` and noted on the timeline, never silently. One event may
  hold at most ``max_event_size`` bytes (a longer one fails the connection
  with a clear error).
* **Clean close.** ``close()`` cancels its task and the request; nothing is
  left running.

Knobs and the field's names for the same thing:

=========================  ============================================================
rtlab                      httpx / httpx-sse / the browser's ``EventSource``
=========================  ============================================================
``heartbeat_timeout``      httpx ``Timeout(read=...)``: the longest silence tolerated
``connect_timeout``        httpx ``Timeout(connect=...)`` (and ``write``, ``pool``)
``retry``                  the spec's *reconnection time*, set by the ``retry:`` field
``policy``,                none: ``EventSource`` waits the reconnection time (the spec
``max_attempts``           lets a browser add an exponential backoff) and never gives up;
                           httpx-sse does not reconnect at all
``inbox_size``             none: ``aiter_sse`` yields as you iterate
``close()``                ``EventSource.close()``
=========================  ============================================================
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Collection, Mapping

import httpx
from httpx_sse import aconnect_sse

from rtlab.backoff import Exponential, Policy
from rtlab.errors import ConnectionFailed, StreamTooLong
from rtlab.knobs import non_negative, positive, positive_or_none
from rtlab.outbox import Inbox, WithInbox
from rtlab.reconnect import Decision, Happened, Outcome
from rtlab.sources import resolve
from rtlab.sse.parser import EventStreamParser, MessageEvent
from rtlab.state import ERROR, FRAME_IN, NOTE, Timeline
from rtlab.supervised import Supervised

HeadersSource = Mapping[str, str] | Callable[[], Mapping[str, str] | Awaitable[Mapping[str, str]]]

H = Happened

#: Unless given one: 0.5 s doubling to 30 s, full jitter, floored by the server's ``retry``.
SSE_POLICY = Exponential(base=0.5, cap=30, jitter="full")


def _is_event_stream(content_type: str) -> bool:
    """True when the MIME type's essence is text/event-stream (parameters allowed)."""
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


#: What a refusal most often means: credentials (the URL may well be a stream) ...
_AUTH_HINTS = {401: "credentials missing or refused", 403: "forbidden"}
#: ... or a URL that is no event stream at all.
_URL_HINTS = {404: "no such URL", 405: "the URL does not answer GET"}
NOT_A_STREAM = "not an event stream (one answers 200 with Content-Type text/event-stream)"
PEEK_BYTES = 160


async def _peek(response: httpx.Response, limit: int = PEEK_BYTES) -> str:
    """The first ``limit`` bytes of an answer, as text on one line (what a refusal said)."""
    data = b""
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= limit:
                break
    except httpx.HTTPError:
        pass
    text = data[:limit].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text + ("…" if len(data) > limit else "")


def describe_answer(status: int, phrase: str, content_type: str, said: str) -> str:
    """``HTTP 400 Bad Request, Content-Type 'application/json': not an event stream (...);
    it said: {...}``: what a client that expected an event stream got instead."""
    words = f"HTTP {status} {phrase}".rstrip()
    kind = repr(content_type) if content_type else "none"
    if status in _AUTH_HINTS:
        hints = [_AUTH_HINTS[status]]
    else:
        hints = [h for h in (_URL_HINTS.get(status),
                             None if _is_event_stream(content_type) else NOT_A_STREAM) if h]
    text = f"{words}, Content-Type {kind}"
    if hints:
        text += ": " + "; ".join(hints)
    return text + (f"; it said: {said}" if said else "")


class ReconnectingEventSource(WithInbox, Supervised):
    """An SSE client that reconnects, resumes and honours ``retry:`` (see the module docs).

    Use it as an async context manager or call :meth:`connect` and :meth:`close`.
    Events come out of :meth:`recv` or ``async for`` as
    :class:`~rtlab.sse.parser.MessageEvent` (``.type``, ``.data``, ``.id``,
    ``.json()``), in order; each is also recorded as a ``FRAME_IN`` event. After the
    stream stopped, the unread events still come out first; then ``recv`` raises
    :class:`~rtlab.errors.ConnectionFailed` (it failed) or
    :class:`~rtlab.errors.ClientClosed` (closed, or 204).
    """

    task_label = "rtlab-sse"

    def __init__(
        self,
        url: str,
        *,
        retry: float = 3.0,
        policy: Policy | None = None,
        max_attempts: int | None = None,
        heartbeat_timeout: float | None = 30.0,
        connect_timeout: float = 5.0,
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
        self.url = url
        self.name = name or url
        self.retry = non_negative("retry", retry)
        self.heartbeat_timeout = positive_or_none("heartbeat_timeout", heartbeat_timeout)
        self.connect_timeout = positive("connect_timeout", connect_timeout)
        if max_event_size is not None and (isinstance(max_event_size, bool) or not isinstance(
                max_event_size, int) or max_event_size < 1):
            raise ValueError(f"max_event_size must be a positive number of bytes (or None), "
                             f"got {max_event_size!r}")
        self.headers = headers
        self.last_event_id = last_event_id
        self.retry_statuses = frozenset(retry_statuses)
        self.max_event_size = max_event_size
        self._init_supervision(timeline, SSE_POLICY if policy is None else policy,
                               max_attempts=max_attempts, rng=rng, server_delay=self.retry)
        self._inbox: Inbox[MessageEvent] = Inbox(inbox_size, self.timeline, what="events")
        self._own_client = client is None
        self._client = client
        self.connections = 0
        self.received = 0

    # -- public API ---------------------------------------------------------

    @property
    def stopped(self) -> bool:
        """True once the client will not reconnect again (closed, 204, or failed)."""
        return self._inbox.ended

    def _prepare(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, follow_redirects=True)

    def _has_stopped(self) -> bool:
        return self._inbox.ended or super()._has_stopped()

    async def close(self) -> None:
        """Stop for good: cancel a pending reconnect and the open request, end ``recv``."""
        self._closing.set()
        await self._stop_supervisor()
        self._mark_closed()
        self._inbox.end(self._stopped_error())
        if self._own_client and self._client is not None:
            await self._client.aclose()

    # -- one attempt: request, check, read, say how it ended --------------------

    def _stopped(self, decision: Decision) -> None:
        super()._stopped(decision)
        self._inbox.end(self._stopped_error())  # unread events still come out first

    async def _request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = dict(await resolve(self.headers) or {})
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    async def _attempt(self) -> Outcome:
        """One request: FAILED before the SSE handshake, DROPPED after; or a stop."""
        assert self._client is not None
        timeout = httpx.Timeout(self.connect_timeout, read=self.heartbeat_timeout)
        opened = False
        try:
            headers = await self._request_headers()
            async with aconnect_sse(
                self._client, "GET", self.url, headers=headers, timeout=timeout
            ) as source:
                refused = await self._check(source.response)
                if refused is not None:
                    return refused
                opened = True
                self.connections += 1
                self._opened()
                await self._read(source.response)
            self.last_error = ConnectionError("the server ended the stream")
            self.timeline.record(NOTE, detail="stream ended by the server")
        except httpx.ReadTimeout:
            self.last_error = TimeoutError(
                f"nothing received for {self.heartbeat_timeout}s: link presumed dead"
            )
            self.timeline.record(NOTE, detail=str(self.last_error))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            self.last_error = exc
            return Outcome(H.FATAL, f"not an http:// or https:// URL: {self.url!r} ({exc})")
        except (httpx.HTTPError, OSError) as exc:
            self.last_error = exc
            if opened:
                self.timeline.record(NOTE, detail=f"stream lost: {exc!r}")
            elif isinstance(exc, httpx.ConnectError):
                where = httpx.URL(self.url).netloc.decode() or self.url
                return self._failed(exc, f"cannot connect to {where}: {exc} (is the server "
                                    "running?)")
            else:
                return self._failed(exc, f"connect failed: {exc!r}")
        except StreamTooLong as exc:
            self.last_error = exc
            return Outcome(H.FATAL, str(exc))
        return Outcome(H.DROPPED if opened else H.FAILED, str(self.last_error or ""))

    def _failed(self, exc: BaseException, detail: str) -> Outcome:
        """An attempt that got no answer: recorded, and worth a retry."""
        self.timeline.record(ERROR, detail=detail)
        return Outcome(H.FAILED, detail)

    async def _check(self, response: httpx.Response) -> Outcome | None:
        """The SSE handshake (§9.2.3): 200 + text/event-stream, else how to stop (or retry)."""
        status = response.status_code
        if status == 204:
            return Outcome(H.ENDED, "server answered 204 No Content: no more events", 204)
        content_type = response.headers.get("content-type", "")
        if status == 200 and _is_event_stream(content_type):
            return None
        answer = describe_answer(status, response.reason_phrase, content_type,
                                 await _peek(response))
        if status != 200 and status in self.retry_statuses:
            self.timeline.record(ERROR, data=status, detail=f"refused: {answer} (will retry)")
            self.last_error = ConnectionFailed(answer, status)
            return Outcome(H.FAILED, answer, status)
        if status != 200:
            return Outcome(H.FATAL, f"refused: {answer}; not retrying (the spec says stop)",
                           status)
        kind = repr(content_type) if content_type else "(none)"
        return Outcome(H.FATAL, f"wrong Content-Type {kind} (expected text/event-stream): "
                       f"{answer}", status)

    async def _read(self, response: httpx.Response) -> None:
        """Feed the parser until the stream ends; deliver each event in order."""
        parser = EventStreamParser(last_event_id=self.last_event_id, max_size=self.max_event_size)
        record, frame = self.timeline.record, self.timeline.frame
        deliver = self._inbox.extend
        try:
            async for chunk in response.aiter_bytes():
                events = parser.feed(chunk)
                self.last_event_id = parser.last_event_id
                retry = parser.retry
                if retry is not None and retry != round(self.retry * 1000):
                    self.retry = self._core.server_delay = retry / 1000.0
                    record(NOTE, data=retry, detail=f"server set retry to {retry} ms")
                if events:
                    for event in events:
                        frame(FRAME_IN, event)
                    deliver(events)
                    self.received += len(events)
        finally:
            parser.close()  # an unfinished event is discarded, as the spec says


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
