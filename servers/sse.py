"""Server-Sent Events: ``GET /sse/news`` and ``GET /sse/ticker`` (text/event-stream, sse-starlette),
and ``GET /sse/stats`` (JSON).

Each stream is a *feed* of numbered events that advances on the clock whether anyone listens
or not, as news do: event ``n`` of a feed with ``interval`` seconds is published
``n * interval`` seconds after the feed was first asked for. The last ``CAPACITY`` events of a
feed are kept in a ring buffer (encoded once, shared by every reader), which is what makes a
resume possible. Feeds are keyed by path and interval; idle ones are forgotten (LRU) beyond
``MAX_FEEDS``. Lines end with CRLF (sse-starlette's default, and legal SSE).

What a stream sends:

- first, a block with ``retry:`` (the reconnection time, ms), ``id:`` (the position the
  stream starts from, so even a client that got nothing else resumes from here) and a
  comment; it has no ``data``, so it dispatches no event;
- ``/sse/news``: ``event: news``, ``id: n``, ``data: {"id", "title", "summary", "timestamp"}``;
  ``/sse/ticker``: ``event: tick``, ``id: n``, ``data: {"seq", "price", "timestamp"}``;
- every ``ping`` seconds a keep-alive ``event: ping`` with ``data: {"timestamp"}`` and no id;
- ``event: reset`` (``data: {"reason", "requested", "oldest", "latest"}``, ``id:`` the live
  position) when the requested id is not in the buffer (too old, from before a server restart,
  or not a number), or when a reader fell so far behind that the buffer moved past it; the
  stream then continues live from ``latest``.

Query parameters (all optional):

- ``interval=SECONDS``: the feed's rate (news 1.0, ticker 0.25 by default; 0.0001 to 60).
  ``interval=0`` is an unpaced feed: it publishes as fast as its readers read (benchmarks).
- ``Last-Event-ID`` header, or ``lastEventId=ID`` for clients that cannot set headers (the
  header wins): resume after that id, replaying the missed events from the buffer.
- ``retry=MS`` (default 1000): the reconnection time sent in the first block.
- ``ping=SECONDS`` (default 5; 0 turns keep-alives off).
- ``auth=1``: require ``Authorization: Bearer <access token>`` (from ``/auth/login``); a
  missing or bad token answers 401.
- ``status=CODE`` (a lab teaching aid): answer that status instead of a stream: ``204`` (the
  SSE way to say "stop, for good") or an error status 400-599 with a JSON body.

``GET /sse/stats`` answers ``{"streams", "by_path", "opened", "closed", "feeds": [...]}``;
with ``?streams=N&timeout=S`` it first waits (up to S seconds, at most 30) until exactly N
streams are open, so a test can await a disconnect being noticed instead of polling.

Every numeric parameter is checked: plain ASCII decimal, finite, in its range (``nan``,
``inf``, ``1e309``, negatives, ``1_0``, other scripts' digits and words answer 400 naming
the parameter and the range).

Disconnects are noticed by sse-starlette (``http.disconnect``), which cancels the stream's
generator; its ``finally`` updates the counts. A stream whose connection is frozen by
``/_chaos/freeze`` stops producing until the thaw, so a frozen link holds no growing backlog.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servers import auth, badinput, feeds, params
from servers.feeds import iso
from servers.httpjson import JSONResponse

if TYPE_CHECKING:
    from servers.app import Server

CAPACITY = 1000  # events kept per feed for replay
BATCH = 256  # at most this many events per write
MAX_FEEDS = 64
MIN_INTERVAL, MAX_INTERVAL = 0.0001, 60.0
DEFAULT_RETRY_MS = 1000
MAX_RETRY_MS = 600_000
DEFAULT_PING = 5.0
MIN_PING = 0.05
MAX_STATS_WAIT = 30.0  # seconds /sse/stats?streams=N&timeout=S may wait
MAX_STREAMS_WAITED = 100_000
SEP = "\r\n"

@dataclass(frozen=True)
class Topic:
    path: str
    event: str
    default_interval: float
    make: Callable[[int, float], dict[str, Any]]


TOPICS = {
    "news": Topic("/sse/news", "news", 1.0, feeds.news_item),
    "ticker": Topic("/sse/ticker", "tick", 0.25, feeds.tick_item),
}


def encode(event: str | None, data: Any, id: str | int | None = None,
           retry: int | None = None, comment: str | None = None) -> bytes:
    """One SSE block (data is JSON-encoded: no raw newlines, so one ``data:`` line)."""
    parts = []
    if comment is not None:
        parts.append(f": {comment}{SEP}")
    if retry is not None:
        parts.append(f"retry: {retry}{SEP}")
    if id is not None:
        parts.append(f"id: {id}{SEP}")
    if event is not None:
        parts.append(f"event: {event}{SEP}")
    if data is not None:
        parts.append(f"data: {json.dumps(data, separators=(',', ':'))}{SEP}")
    parts.append(SEP)
    return "".join(parts).encode()


class Behind(Exception):
    """A reader's position is no longer in the buffer."""


class Feed:
    """Numbered events published on a clock, the last ``capacity`` kept encoded.

    Pure apart from the clock values passed in: ``now`` is the loop's monotonic time,
    ``wall0`` the wall-clock time matching ``t0`` (for timestamps).
    """

    def __init__(self, topic: Topic, interval: float, now: float, wall0: float,
                 capacity: int = CAPACITY) -> None:
        self.topic = topic
        self.interval = interval
        self.t0 = now
        self.wall0 = wall0
        self.capacity = capacity
        self.items: deque[bytes] = deque(maxlen=capacity)
        self.latest = 0  # id of the newest published event (0: none yet)
        self.subscribers = 0

    @property
    def oldest(self) -> int:
        """Id of the oldest event still in the buffer (latest + 1 when the buffer is empty)."""
        return self.latest - len(self.items) + 1

    def encoded(self, n: int) -> bytes:
        """Event ``n`` as sent: the same bytes in every process that shares ``wall0``."""
        ts = self.wall0 + n * self.interval if self.interval else time.time()
        return encode(self.topic.event, self.topic.make(n, ts), id=n)

    def _publish(self, upto: int) -> None:
        if upto - self.latest > self.capacity:  # nobody can read the skipped ones anyway
            self.items.clear()
            self.latest = upto - self.capacity
        for n in range(self.latest + 1, upto + 1):
            self.items.append(self.encoded(n))
        self.latest = upto

    def advance(self, now: float) -> None:
        """Publish every event due by ``now`` (paced feeds only)."""
        if self.interval:
            due = int((now - self.t0) / self.interval)
            if due > self.latest:
                self._publish(due)

    def due(self, n: int) -> float:
        """When event ``n`` is (or was) published, on the monotonic clock."""
        return self.t0 + n * self.interval

    async def ready(self) -> None:
        """Up to date for a new reader (a feed kept elsewhere fetches what it lacks)."""

    async def wait(self, n: int, now: float) -> None:
        """Until event ``n`` may be there."""
        await asyncio.sleep(max(self.due(n) - now, 0.0))

    def close(self) -> None:
        """The hub forgot this feed."""

    def read(self, cursor: int, now: float, limit: int = BATCH) -> tuple[bytes, int]:
        """The encoded events after ``cursor`` (at most ``limit``) and the new cursor.

        Raises :class:`Behind` if events after ``cursor`` have left the buffer. An unpaced
        feed publishes ``limit`` more events when the reader has caught up.
        """
        self.advance(now)
        if not self.interval and cursor >= self.latest:
            self._publish(self.latest + limit)
        if cursor + 1 < self.oldest:
            raise Behind(cursor)
        start = cursor + 1 - self.oldest
        chunk = list(islice(self.items, start, start + limit))
        return b"".join(chunk), cursor + len(chunk)

    def position(self, requested: str | None, now: float) -> tuple[int, str | None]:
        """Where a new stream starts, and why it is reset (None: no reset)."""
        self.advance(now)
        if requested is None or requested == "":
            return self.latest, None
        if not (requested.isascii() and requested.isdigit()) or len(requested) > 18:
            return self.latest, "unknown id (not one of this feed's numbers)"
        last = int(requested)
        if last > self.latest or last < 0:
            return self.latest, "unknown id (from before a server restart?)"
        if last + 1 < self.oldest:
            return self.latest, f"too old: the buffer starts at {self.oldest}"
        return last, None

    def describe(self) -> dict[str, Any]:
        return {"path": self.topic.path, "interval": self.interval, "latest": self.latest,
                "oldest": self.oldest, "buffered": len(self.items),
                "subscribers": self.subscribers}


class Hub:
    """The feeds and the open streams of one server."""

    def __init__(self, registry: Any = None, broker: Any = None) -> None:
        self.registry = registry  # the transport registry: tells when a freeze happens
        self.broker = broker  # paced feeds live in its Redis streams (servers.broker.feeds)
        self.feeds: OrderedDict[tuple[str, float], Feed] = OrderedDict()
        self.streams: dict[str, int] = {}
        self.opened = 0
        self.closed = 0
        self.changed = asyncio.Event()

    def feed(self, topic: Topic, interval: float, now: float) -> Feed:
        key = (topic.path, interval)
        feed = self.feeds.get(key)
        if feed is None:
            if self.broker is not None and interval:
                from servers.broker.feeds import StreamFeed

                feed = StreamFeed(self.broker, topic, interval, now)
            else:
                feed = Feed(topic, interval, now, time.time())
            self.feeds[key] = feed
            if len(self.feeds) > MAX_FEEDS:
                for k, f in list(self.feeds.items()):
                    if f.subscribers == 0 and k != key:
                        del self.feeds[k]
                        f.close()
                        break
        self.feeds.move_to_end(key)
        return feed

    @property
    def open_streams(self) -> int:
        return sum(self.streams.values())

    def _count(self, path: str, delta: int) -> None:
        self.streams[path] = self.streams.get(path, 0) + delta
        if delta > 0:
            self.opened += 1
        else:
            self.closed += 1
        self.changed.set()

    def stats(self) -> dict[str, Any]:
        return {"streams": self.open_streams, "by_path": {k: v for k, v in self.streams.items()},
                "opened": self.opened, "closed": self.closed,
                "feeds": [f.describe() for f in self.feeds.values()]}

    def _frozen(self) -> bool:
        return bool(self.registry is not None and getattr(self.registry, "frozen", False))

    async def stream(self, feed: Feed, cursor: int, reset: str | None, requested: str | None,
                     retry_ms: int) -> AsyncIterator[bytes]:
        """One reader's events: the first block, maybe a reset, then the feed from ``cursor``."""
        loop = asyncio.get_running_loop()
        path = feed.topic.path
        feed.subscribers += 1
        self._count(path, +1)
        # A freeze that starts while we run froze our connection; one in force when we
        # started did not (later connections are not frozen).
        seen_frozen = self._frozen()
        try:
            yield encode(None, None, id=cursor, retry=retry_ms,
                         comment=f"rtlab {path}: resuming after {cursor}" if requested
                         else f"rtlab {path}: live from {cursor}")
            if reset is not None:
                yield self._reset(feed, reset, requested)
                cursor = feed.latest
            while True:
                frozen = self._frozen()
                if frozen and not seen_frozen:
                    while self._frozen():  # our link is frozen: produce nothing until thaw
                        await asyncio.sleep(0.05)
                seen_frozen = frozen
                now = loop.time()
                try:
                    chunk, cursor = feed.read(cursor, now)
                except Behind:
                    yield self._reset(feed, "fell behind: the buffer moved past this reader",
                                      str(cursor))
                    cursor = feed.latest
                    continue
                if chunk:
                    yield chunk
                    await asyncio.sleep(0)  # let other streams (and pings) run
                    continue
                await feed.wait(cursor + 1, now)
        finally:
            feed.subscribers -= 1
            self._count(path, -1)

    @staticmethod
    def _reset(feed: Feed, reason: str, requested: str | None) -> bytes:
        return encode("reset", {"reason": reason, "requested": requested,
                                "oldest": feed.oldest, "latest": feed.latest}, id=feed.latest)


def _number(request: Request, name: str, default: float, low: float, high: float,
            zero_ok: bool = False, integer: bool = False) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return params.number(name, raw, low, high, integer=integer, zero_ok=zero_ok)


def _problem(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status,
                        headers=headers or None)


def _bad_param(request: Request, exc: params.BadParam) -> JSONResponse:
    badinput.report_scope(request.scope, str(exc))
    return _problem(400, f"bad query parameter: {exc}")


def routes(server: Server | None = None) -> list[Route]:
    hub = Hub(server.registry if server is not None else None,
              server.broker if server is not None else None)

    def endpoint(topic: Topic) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            query = request.query_params
            if "status" in query:
                try:
                    status = int(params.number("status", query["status"], 100, 599, integer=True))
                except params.BadParam:
                    status = 0
                if status == 204:
                    return Response(status_code=204)
                if not 400 <= status <= 599:
                    return _bad_param(request, params.BadParam("status must be 204 or 400-599"))
                extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
                return _problem(status, f"status {status} asked for by ?status=", **extra)
            if query.get("auth") not in (None, "", "0"):
                try:
                    auth.bearer_claims(request.headers.get("authorization"))
                except auth.AuthError as exc:
                    return _problem(401, str(exc), **{"WWW-Authenticate": "Bearer"})
            try:
                interval = _number(request, "interval", topic.default_interval,
                                   MIN_INTERVAL, MAX_INTERVAL, zero_ok=True)
                retry_ms = int(_number(request, "retry", DEFAULT_RETRY_MS, 0, MAX_RETRY_MS))
                ping = _number(request, "ping", DEFAULT_PING, MIN_PING, 3600, zero_ok=True)
            except params.BadParam as exc:
                return _bad_param(request, exc)
            requested = request.headers.get("last-event-id")
            if requested is None:
                requested = query.get("lastEventId")
            now = asyncio.get_running_loop().time()
            feed = hub.feed(topic, interval, now)
            await feed.ready()
            now = asyncio.get_running_loop().time()
            cursor, reset = feed.position(requested, now)
            return EventSourceResponse(
                hub.stream(feed, cursor, reset, requested, retry_ms),
                ping=ping,
                ping_message_factory=lambda: ServerSentEvent(
                    data=json.dumps({"timestamp": iso(time.time())}), event="ping"
                ),
                headers={"Cache-Control": "no-store"},
            )

        return handle

    async def stats(request: Request) -> JSONResponse:
        wanted = request.query_params.get("streams")
        if wanted is not None:
            try:
                n = int(_number(request, "streams", 0, 0, MAX_STREAMS_WAITED, integer=True))
                timeout = _number(request, "timeout", 5.0, 0, MAX_STATS_WAIT)
            except params.BadParam as exc:
                return _bad_param(request, exc)
            deadline = asyncio.get_running_loop().time() + timeout
            while hub.open_streams != n:
                hub.changed.clear()
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(hub.changed.wait(), left)
                except TimeoutError:
                    break
        return JSONResponse(hub.stats())

    return [
        Route("/sse/news", endpoint(TOPICS["news"]), methods=["GET"]),
        Route("/sse/ticker", endpoint(TOPICS["ticker"]), methods=["GET"]),
        Route("/sse/stats", stats, methods=["GET"]),
    ]
