"""What ``/_classroom/stats`` reports over time: messages per second, and the last herd.

Pure: every method takes ``now`` (seconds, any monotonic origin).

A *herd* starts when the instructor breaks everyone's links (a drop, a restart, a reject):
from then on every connection attempt (a WebSocket handshake, an SSE request, a Socket.IO
handshake) is counted in its 100 ms bucket, for :data:`SPAN` seconds. That histogram is what
notebook 04 draws for one laptop's thirty clients, here for a whole class.
"""

from __future__ import annotations

from typing import Any

BUCKET = 0.1
SPAN = 10.0


class PerSecond:
    """Events per second: the count of the last complete second."""

    def __init__(self) -> None:
        self.second = 0
        self.count = 0
        self.previous = 0

    def add(self, now: float, n: int = 1) -> None:
        second = int(now)
        if second != self.second:
            self.previous = self.count if second == self.second + 1 else 0
            self.second, self.count = second, 0
        self.count += n

    def rate(self, now: float) -> int:
        second = int(now)
        if second == self.second:
            return self.previous
        return self.count if second == self.second + 1 else 0


class Herd:
    """Connection attempts per :data:`BUCKET` seconds since the last class-wide break."""

    def __init__(self, bucket: float = BUCKET, span: float = SPAN) -> None:
        self.bucket = bucket
        self.span = span
        self.started: float | None = None
        self.cause = ""
        self.counts: list[int] = []

    def start(self, now: float, cause: str) -> None:
        self.started, self.cause = now, cause
        self.counts = [0] * round(self.span / self.bucket)

    def opened(self, now: float) -> None:
        if self.started is None:
            return
        index = int((now - self.started) / self.bucket)
        if 0 <= index < len(self.counts):
            self.counts[index] += 1

    def summary(self, now: float) -> dict[str, Any] | None:
        if self.started is None:
            return None
        counts = list(self.counts)
        while counts and counts[-1] == 0:
            counts.pop()
        return {"cause": self.cause, "seconds_ago": round(now - self.started, 3),
                "bucket_ms": round(self.bucket * 1000), "attempts": counts,
                "total": sum(counts), "busiest": max(counts, default=0)}
