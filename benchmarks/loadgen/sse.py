"""A lean SSE listener for the load generator: one ``asyncio.Protocol`` per stream, no task.

httpx + httpx-sse cost tens of microseconds per event per stream (anyio, httpcore, a decoder
per line); thousands of streams in one generator would measure the generator. This reads the
raw HTTP/1.1 response: the status line, then lines. A server writes each event as one chunk of
``Transfer-Encoding: chunked``, so the chunk-size lines sit between events and never start
with ``data:``; only ``data: {`` lines are parsed (the demo feed's JSON), and their ``id`` and
``timestamp`` (when the event was due) are the sequence number and origin time.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from urllib.parse import urlsplit

from benchmarks.loadgen.samples import Recorder
from benchmarks.loadgen.session import Refused


class SseStream(asyncio.Protocol):
    """One ``GET`` of an event stream; ``started`` resolves on the ``200`` status line."""

    def __init__(self, target: str, host: str, recorder: Recorder) -> None:
        self.request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
                        "Accept: text/event-stream\r\nCache-Control: no-store\r\n\r\n").encode()
        self.recorder = recorder
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        lines = (self.buffer + data).split(b"\n")
        self.buffer = lines.pop()
        now = time.time()
        if not self.started.done():
            status = lines[0].split(b" ", 2) if lines else []
            if len(status) < 2 or status[1] != b"200":
                self.started.set_exception(Refused(f"stream answered {lines[:1]!r}"))
                self.close()
                return
            self.started.set_result(None)
        for line in lines:
            if line.startswith(b"data: {"):
                item = json.loads(line[6:])
                if "id" in item and "timestamp" in item:
                    due = datetime.fromisoformat(item["timestamp"]).timestamp()
                    self.recorder.record(int(item["id"]), due, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.started.done():
            self.started.set_exception(Refused(f"connection lost: {exc}"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def open_stream(url: str, path: str, recorder: Recorder) -> SseStream:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _transport, stream = await loop.create_connection(
        lambda: SseStream(path, parts.netloc, recorder), parts.hostname, parts.port)
    await stream.started
    return stream
