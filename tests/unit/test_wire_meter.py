"""WireMeter: one row per source, counters read at redraw time, throttled, never driving."""

from __future__ import annotations

import asyncio
import time

import pytest

from rtlab.graphql.wire import WireStats, stats_of
from rtlab.widgets import WireMeter
from rtlab.widgets.wire_meter import human_bytes

VIEW = "application/vnd.jupyter.widget-view+json"


class FakeLink:
    def __init__(self, name: str) -> None:
        self.wire = WireStats(name=name)


def test_rows_per_source_and_the_text_fallback() -> None:
    one, two = FakeLink("one"), FakeLink("two")
    meter = WireMeter({"one by one": one, "batched": two})
    for _ in range(50):
        one.wire.operation("query")
        one.wire.request("POST")
    one.wire.bytes_up, one.wire.bytes_down = 15_241, 8_997
    two.wire.operation("query")
    meter.flush_now()
    assert "rtlab-wire-meter" in meter._dom_classes
    assert [label for label, _ in meter.table()] == ["one by one", "batched"]
    assert meter.table()[0][1]["requests"] == 50
    assert 'data-label="one by one"' in meter.value
    assert 'class="rtlab-wire-requests" data-value="50"' in meter.value
    assert "15.2 kB" in meter.value and "9.0 kB" in meter.value
    text = meter.text()
    assert "one by one: operations 50, HTTP requests 50" in text and "bytes up 15.2 kB" in text
    assert meter._repr_mimebundle_()["text/plain"] == text
    assert VIEW in meter._repr_mimebundle_()


def test_a_single_source_is_labelled_by_its_name_and_anything_else_is_refused() -> None:
    assert WireMeter(WireStats(name="http://x/graphql")).table()[0][0] == "http://x/graphql"
    with pytest.raises(TypeError):
        WireMeter(object())
    with pytest.raises(TypeError):
        stats_of(42)


async def test_thousands_of_events_cost_about_ten_redraws_a_second() -> None:
    stats = WireStats()
    meter = WireMeter(stats)
    before, start = meter.renders, time.monotonic()
    for _ in range(30):
        for _ in range(100):
            stats.operation("query")
        await asyncio.sleep(0.01)
    await meter.flushed()
    elapsed = time.monotonic() - start
    assert meter.events == 3000
    assert 1 <= meter.renders - before <= elapsed * 10 + 2
    assert 'class="rtlab-wire-operations" data-value="3000"' in meter.value


def test_close_unsubscribes_from_every_source() -> None:
    a, b = WireStats(), WireStats()
    meter = WireMeter({"a": a, "b": b})
    assert meter.following and a.timeline.listener_count == b.timeline.listener_count == 1
    meter.close()
    assert not meter.following and a.timeline.listener_count == b.timeline.listener_count == 0


def test_reset_counts_from_zero() -> None:
    stats = WireStats()
    stats.operation("query")
    stats.bytes_up = 10
    stats.reset()
    assert set(stats.snapshot().values()) == {0}


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"),
                                         (2_500_000, "2.5 MB"), (7 * 10**9, "7.0 GB")])
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text
