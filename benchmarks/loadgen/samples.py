"""Delivery latencies: recorded in each generator process, summed up in the driver.

Pure: times are passed in. A message is identified by its sequence number ``k`` and carries
its origin time (the broadcaster's send time, or an SSE event's scheduled time); latency is
arrival minus origin, both read from ``time.time()`` on the same machine. A message expected
by a client but never received counts as lost, and a lost message is a delivery slower than
any target: it is in the percentiles as infinitely late.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Recorder:
    """Latencies of the messages whose origin is inside the measuring window."""

    def __init__(self) -> None:
        self.since = math.inf  # nothing is recorded before the first reset
        self.items: list[tuple[int, float, float]] = []  # (k, origin, latency)

    def reset(self, since: float) -> None:
        self.since = since
        self.items = []

    def record(self, k: int, origin: float, now: float) -> None:
        if origin >= self.since:
            self.items.append((k, origin, now - origin))

    def report(self, until: float) -> dict[str, Any]:
        """Latencies (ms) and per-message counts of messages that originated before ``until``."""
        kept = [(k, lat) for k, origin, lat in self.items if origin < until]
        return {"latencies": [round(lat * 1000, 2) for _k, lat in kept],
                "counts": dict(Counter(str(k) for k, _lat in kept))}


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method; ``inf`` entries sort last."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Summary:
    clients: int
    messages: int  # messages expected per client in the window
    expected: int  # deliveries expected (clients x messages)
    received: int
    p50: float  # ms
    p99: float  # ms (inf when more than 1 % were lost)
    worst: float  # ms, of those received

    @property
    def lost(self) -> int:
        return max(self.expected - self.received, 0)

    def meets(self, p99_ms: float) -> bool:
        return self.messages > 0 and self.p99 <= p99_ms


def summarize(reports: Iterable[dict[str, Any]], clients: int,
              expected_ks: Iterable[int] | None = None) -> Summary:
    """Combine the generators' reports. ``expected_ks``: the messages every client should
    have had (the broadcaster knows what it sent); None for a feed whose messages are numbered
    without gaps, where the expected ones are every k from the first seen to the last."""
    latencies: list[float] = []
    counts: Counter[int] = Counter()
    for report in reports:
        latencies.extend(report["latencies"])
        counts.update({int(k): n for k, n in report["counts"].items()})
    if expected_ks is None:
        ks = range(min(counts), max(counts) + 1) if counts else range(0)
    else:
        ks = sorted(set(expected_ks))
    wanted = set(ks)
    received = sum(n for k, n in counts.items() if k in wanted)
    expected = clients * len(ks)
    values = sorted(latencies) + [math.inf] * max(expected - received, 0)
    return Summary(clients=clients, messages=len(ks), expected=expected, received=received,
                   p50=percentile(values, 0.50), p99=percentile(values, 0.99),
                   worst=max(latencies, default=math.nan))
