"""``MessageList`` fed 5,000 messages a second for 10 s, through a client timeline.

Targets (DESIGN.md): at most 10 redraws a second, bounded memory, and the
kernel keeps up. "Keeps up" is measured as the producer's lateness: a task
that records 50 frames every 10 ms, with and without the widget listening; the
ratio of their p99 lateness is reported, and the rate actually delivered must
stay within 1% of 5,000/s.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.report import Row
from rtlab.state import FRAME_IN, Timeline
from rtlab.widgets import MessageList

RATE = 5000
SECONDS = 10.0
BATCH = 50  # frames per 10 ms tick


async def _feed(timeline: Timeline, seconds: float) -> tuple[int, list[float]]:
    """Record RATE frames/s for ``seconds``; return how many and each tick's lateness."""
    tick = BATCH / RATE
    start = time.perf_counter()
    sent, lateness = 0, []
    n = 0
    while (now := time.perf_counter()) - start < seconds:
        due = start + n * tick
        lateness.append(max(0.0, now - due))
        for _ in range(BATCH):
            timeline.record(FRAME_IN, data={"type": "tick", "seq": sent})
            sent += 1
        n += 1
        await asyncio.sleep(max(0.0, start + n * tick - time.perf_counter()))
    return sent, lateness


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 100 else max(values)


async def measure(seconds: float = SECONDS) -> dict[str, float]:
    bare = Timeline(maxlen=1000)
    _, bare_lateness = await _feed(bare, seconds / 2)
    watched = Timeline(maxlen=1000)
    widget = MessageList(watched, maxlen=200)
    first = widget.renders  # the initial draw, before any message
    t0 = time.perf_counter()
    sent, lateness = await _feed(watched, seconds)
    await widget.flushed()
    elapsed = time.perf_counter() - t0
    result = {
        "sent": sent,
        "rate": sent / elapsed,
        "redraws_per_s": (widget.renders - first) / elapsed,
        "kept": len(widget.messages),
        "count": widget.count,
        "p99_bare_ms": _p99(bare_lateness) * 1e3,
        "p99_widget_ms": _p99(lateness) * 1e3,
    }
    widget.close()
    return result


def run(server: object) -> list[Row]:
    r = asyncio.run(measure())
    bounded = r["kept"] <= 200 and r["count"] == r["sent"]
    return [
        Row(
            f"MessageList fed {RATE}/s for {SECONDS:g} s: redraws",
            "target <= 10 redraws/s",
            f"{r['redraws_per_s']:.1f} redraws/s, {r['kept']:.0f} kept of {r['count']:.0f}",
            f"{r['redraws_per_s']:.1f}/s; memory bounded: {'yes' if bounded else 'no'}",
            r["redraws_per_s"] <= 10 and bounded,
        ),
        Row(
            "the same: the loop keeps up (producer lateness p99)",
            f"{r['p99_bare_ms']:.2f} ms without a widget",
            f"{r['p99_widget_ms']:.2f} ms with MessageList; {r['rate']:.0f} msgs/s delivered",
            f"delivered {r['rate'] / RATE:.3f} of the rate (target >= 0.99)",
            r["rate"] >= 0.99 * RATE,
        ),
    ]
