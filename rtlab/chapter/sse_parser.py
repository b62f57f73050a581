"""The chapter's ``SSEService`` (section 21.5, seed l.1415-1603), ported with its mistakes.

The notebook's Pitfalls section feeds these the same bytes as
:class:`rtlab.sse.EventStreamParser` and points them at the same server as
:class:`rtlab.sse.ReconnectingEventSource`. Mistakes reproduced, with the seed line:

Parsing (``_handleResponse`` / ``_processEvent``):

1. Events are cut at ``"\\n\\n"`` only (``buffer.contains('\\n\\n')``, l.1486-1492). A
   stream with CRLF line ends (sse-starlette's default, so this lab's server) or lone CRs
   never contains ``"\\n\\n"``: no event is ever dispatched and the buffer grows without
   bound.
2. Every value is ``trim()``-ed (l.1513, l.1515, l.1518): leading and trailing spaces of
   data are lost (the spec removes exactly one space after the colon).
3. Every block is dispatched (l.1530-1536), even one without ``data``: a keep-alive
   comment or a ``retry``-only block becomes an empty ``message`` event.
4. A line ``data`` (no colon) is ignored (``startsWith('data:')``, l.1516) instead of
   adding an empty line.
5. An ``id`` containing NUL is accepted; the event of a block without ``id`` gets
   ``id: null`` (``SSEEvent(id: id, ...)``, l.1531) instead of the last event id.
6. Invalid UTF-8 raises (``.transform(utf8.decoder)``, l.1480, throws unless
   ``allowMalformed``): the service treats it as a connection error and reconnects,
   dropping what it had buffered. The spec replaces the bad bytes with U+FFFD and carries
   on. (A leading BOM is fine: Dart's decoder drops it, as the spec asks.)
7. ``retry:`` is parsed and thrown away (``// Update retry interval``, l.1519-1524).
8. ``jsonData`` returns null on bad JSON (l.1593-1599): the news item silently disappears.

Connecting (``connect`` / ``_handleError`` / ``_scheduleReconnect``):

9. Any non-200 answer (l.1457-1461), 204 and 401 included, goes to ``_handleError``
   (l.1540-1544), which schedules a reconnect after the same ``retryInterval`` (l.1547-1552),
   forever: a server that said "stop" (204) or "who are you?" (401) is asked again every
   3 s with the same request, by every client. No backoff, no jitter.
10. The ``Content-Type`` is never checked (l.1457-1458): a JSON page answered with 200 is
    "connected".
11. ``disconnect()`` sets ``_shouldReconnect = false`` (l.1564) and nothing sets it back
    (``connect()``, l.1442-1465): after a later ``connect()`` it never reconnects again.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from rtlab.state import ATTEMPT, ERROR, FRAME_IN, NOTE, STATE, ConnectionState, Timeline

S = ConnectionState


@dataclass(frozen=True)
class ChapterSSEEvent:
    """The chapter's ``SSEEvent``: ``id`` may be None, ``event`` defaults to ``message``."""

    id: str | None
    event: str
    data: str

    @property
    def json_data(self) -> Any:
        """``jsonData``: the parsed data, or None when it is not JSON (mistake 8)."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class ChapterSSEParser:
    """``_handleResponse`` + ``_processEvent``: bytes in (through a strict UTF-8 decoder that
    drops a leading BOM, as Dart's ``utf8.decoder``), events out. Mistakes 1-7 above."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.buffer = ""
        self.last_event_id: str | None = None
        self.retry_seen: list[int] = []  # parsed, then ignored (mistake 7)

    def feed(self, chunk: bytes) -> list[ChapterSSEEvent]:
        self.buffer += self._decoder.decode(chunk)  # UnicodeDecodeError on bad bytes
        events = []
        while "\n\n" in self.buffer:
            index = self.buffer.index("\n\n")
            block, self.buffer = self.buffer[:index], self.buffer[index + 2 :]
            events.append(self._process_event(block))
        return events

    def _process_event(self, block: str) -> ChapterSSEEvent:
        id_: str | None = None
        event: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("id:"):
                id_ = line[3:].strip()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line.startswith("retry:"):
                try:
                    self.retry_seen.append(int(line[6:].strip()))
                except ValueError:
                    pass
        if id_ is not None:
            self.last_event_id = id_
        return ChapterSSEEvent(id=id_, event=event or "message", data="\n".join(data))


class ChapterSSEService:
    """The chapter's ``SSEService`` connect/reconnect logic on httpx (mistakes 9-11).

    ``requests`` counts every request sent, so a notebook can show a server that said
    "stop" being asked again and again. States follow the chapter's boolean
    ``isConnected`` mapped onto the shared vocabulary.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        retry_interval: float = 3.0,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.retry_interval = retry_interval
        self.timeline = Timeline()
        self.state = S.DISCONNECTED
        self.events: list[ChapterSSEEvent] = []
        self.requests = 0
        self.should_reconnect = True
        self.last_event_id: str | None = None
        self._client = httpx.AsyncClient(trust_env=False)
        self._task: asyncio.Task[None] | None = None

    def _set(self, state: ConnectionState, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.timeline.record(STATE, state=state, detail=detail)

    def connect(self) -> None:
        """``connect()``: fire the request in the background (returns at once, like Dart)."""
        if self.state is S.CONNECTED:
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        self.requests += 1
        self.timeline.record(ATTEMPT, attempt=self.requests)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **self.headers}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            async with self._client.stream("GET", self.url, headers=headers) as response:
                if response.status_code != 200:
                    await self._handle_error(f"HTTP {response.status_code}")
                    return
                self._set(S.CONNECTED)  # no Content-Type check (mistake 10)
                parser = ChapterSSEParser()
                async for chunk in response.aiter_bytes():
                    for event in parser.feed(chunk):
                        self.last_event_id = parser.last_event_id
                        self.events.append(event)
                        self.timeline.record(FRAME_IN, data=event)
            self._set(S.DISCONNECTED, "stream done")
            if self.should_reconnect:
                self._schedule_reconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the chapter funnels everything here
            await self._handle_error(f"Stream error: {exc!r}")

    async def _handle_error(self, error: str) -> None:
        self.timeline.record(ERROR, detail=f"SSE Error: {error}")
        self._set(S.DISCONNECTED, error)
        if self.should_reconnect:
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        """Always the same delay, whatever the server said (mistake 9)."""
        self.timeline.record(NOTE, detail=f"reconnect in {self.retry_interval}s")

        async def later() -> None:
            await asyncio.sleep(self.retry_interval)
            if self.should_reconnect:
                await self._run()

        self._task = asyncio.get_running_loop().create_task(later())

    async def disconnect(self) -> None:
        """``disconnect()``: the flag goes false and stays false (mistake 11)."""
        self.should_reconnect = False
        self._set(S.DISCONNECTED, "disconnect()")
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    async def dispose(self) -> None:
        await self.disconnect()
        await self._client.aclose()
