"""SSE fan-out: one task per paced feed writes each new event to every caught-up reader, in one
pass, instead of waking one task per reader.

A stream of :mod:`servers.sse` that has caught up with its feed *parks* here (its generator
awaits :attr:`Reader.woken`). At each due time the feed's :class:`Pump` publishes the event
and writes the same bytes to every parked reader's transport: the event block (encoded once,
in the ring buffer) framed once as an HTTP/1.1 chunk (RFC 9112 §7.1: ``size-in-hex CRLF data
CRLF``, what h11 writes for each ``http.response.body``). A reader the pump cannot write to
now (flow control paused it, its link is frozen, its connection is closing, or it is behind)
is woken instead and its generator carries on through sse-starlette as before (resume from
the ring buffer, a ``reset`` when it fell out of it, the freeze rules).

Per reader and event that is a dictionary lookup, a few attribute reads and one
``transport.write``; through the generator it was a timer, a task step, sse-starlette's send
(an anyio cancel scope), Starlette's wrappers and h11, about 70 us on this kind of machine.

Safe because: the pump writes whole chunks with one ``transport.write``, as h11 does, so
sse-starlette's own writes (pings) interleave at chunk boundaries only; it writes only to a
response that is started, chunked (HTTP/1.1, no Content-Length: h11's choice for a stream),
not complete and not write-paused, through the same transport object h11 writes to (chaos
latency applies); and a parked generator sends nothing, so no event is written twice or out
of order. Only ``GET`` streams served by :mod:`servers.transport`'s HTTP protocol have a link
(the ``rtlab.transport`` scope extension); any other stream never parks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from servers.fanout import enabled

__all__ = ["Pump", "Reader", "chunk", "enabled"]

#: a parked reader further behind than this many events is woken to catch up in batches
MAX_CATCH_UP = 16


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of ``Transfer-Encoding: chunked``."""
    return b"%x\r\n%s\r\n" % (len(data), data)


class Reader:
    """One parked stream: where it is in the feed and the connection to write to."""

    __slots__ = ("transport", "cycle", "cursor", "woken")

    def __init__(self, transport: Any, cycle: Any, cursor: int) -> None:
        self.transport = transport
        self.cycle = cycle
        self.cursor = cursor
        self.woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    def of(cls, scope: dict[str, Any], cursor: int) -> Reader | None:
        """A reader for the stream answering ``scope``, or None when it cannot park."""
        link = scope.get("extensions", {}).get("rtlab.transport")
        ref = link.get("cycle") if link else None  # a weak reference (servers.transport)
        cycle = ref() if ref is not None else None
        if cycle is None or scope.get("method") != "GET":
            return None
        if (cycle.conn.their_http_version or b"") < b"1.1":  # HTTP/1.0: not chunked
            return None
        return cls(link["transport"], cycle, cursor)

    def writable(self) -> bool:
        cycle, transport = self.cycle, self.transport
        return (cycle.response_started and not cycle.response_complete
                and not cycle.disconnected and not cycle.flow.write_paused
                and not transport.is_closing() and not getattr(transport, "frozen", False))

    def wake(self) -> None:
        if not self.woken.done():
            self.woken.set_result(None)


class Pump:
    """The parked readers of one paced feed (:class:`servers.sse.Feed`), and the task that
    writes to them."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed
        self.readers: set[Reader] = set()
        self.task: asyncio.Task[None] | None = None
        self.written = 0  # chunks written to readers so far

    def park(self, reader: Reader) -> None:
        self.readers.add(reader)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def unpark(self, reader: Reader) -> None:
        self.readers.discard(reader)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        feed = self.feed
        try:
            while self.readers:
                await feed.wait(feed.latest + 1, loop.time())  # its clock, or its Redis stream
                self.deliver(loop.time())
        finally:  # ended by a failure too: nobody stays parked on a pump that is gone
            for reader in list(self.readers):
                self.readers.discard(reader)
                reader.wake()

    def deliver(self, now: float) -> int:
        """Publish what is due and write it to every parked reader; wake the ones that cannot
        take it. Returns how many readers were written to."""
        feed = self.feed
        feed.advance(now)
        latest = feed.latest
        framed: dict[int, bytes | None] = {}  # cursor -> the chunk that brings it to latest
        written = 0
        for reader in list(self.readers):
            cursor = reader.cursor
            if cursor >= latest:
                continue
            data = framed.get(cursor, b"")
            if data == b"":
                data = framed[cursor] = self._catch_up(cursor, latest, now)
            if data is None or not reader.writable():
                self.readers.discard(reader)
                reader.wake()
                continue
            reader.transport.write(data)
            reader.cursor = latest
            written += 1
        self.written += written
        return written

    def _catch_up(self, cursor: int, latest: int, now: float) -> bytes | None:
        """The chunk holding every event after ``cursor``; None if the buffer cannot give it
        in one batch (the generator's path sends the reset or the batches)."""
        if latest - cursor > MAX_CATCH_UP or cursor + 1 < self.feed.oldest:
            return None
        data, _ = self.feed.read(cursor, now, limit=latest - cursor)
        return chunk(data)
