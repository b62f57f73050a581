"""The pure SVG drawings: well-formed, one mark per datum, text escaped, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtlab.backoff import Exponential, chapter_delays, planned
from rtlab.state import ConnectionState, transition_rows
from rtlab.widgets import svg


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [
        el
        for el in root.iter()
        if el.tag.rsplit("}", 1)[-1] == tag and cls in el.get("class", "").split()
    ]


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]


def test_lanes_one_dot_per_attempt_at_cumulative_time() -> None:
    series = {
        "chapter": chapter_delays(6),
        "capped exp": planned(Exponential(base=1, cap=30), 6),
        "full jitter": planned(Exponential(jitter="full", seed=7), 4),
    }
    root = parse(svg.lanes(series, title="backoff"))
    lanes = marks(root, "g", "lane")
    assert [lane.get("data-name") for lane in lanes] == list(series)
    for lane, delays in zip(lanes, series.values(), strict=True):
        dots = marks(lane, "circle", "attempt")
        assert len(dots) == len(delays)
        xs = [float(d.get("cx")) for d in dots]
        assert xs == sorted(xs)  # cumulative: never goes back
    chapter = marks(lanes[0], "circle", "attempt")
    assert "starts at 15s" in "".join(chapter[1].itertext())  # 5 + 10
    assert "total 195s" in texts(root)  # 5+10+20+40+60+60


def test_lanes_escape_labels_and_are_deterministic() -> None:
    evil = 'a<b>&"c'
    out = svg.lanes({evil: [1, 2]}, title="<t>")
    root = parse(out)
    assert marks(root, "g", "lane")[0].get("data-name") == evil
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "<t>" in texts(root)
    assert out == svg.lanes({evil: [1, 2]}, title="<t>")


def test_bin_counts() -> None:
    assert svg.bin_counts([0.0, 0.05, 0.099, 0.1, 0.35], 100) == [3, 1, 0, 1]
    assert svg.bin_counts([0.0, 2.0], 100, bins=3) == [1, 0, 0]
    assert svg.bin_counts([1.05, 0.5], 100, start=1.0) == [1]
    with pytest.raises(ValueError):
        svg.bin_counts([], 0)


def test_histogram_one_bar_per_bin_per_series() -> None:
    herd = {"no jitter": [0, 100, 0, 0], "full <jitter>": [20, 30, 25, 25]}
    out = svg.histogram(herd, bin_ms=100, title="attempts per 100 ms")
    root = parse(out)
    bars = marks(root, "rect", "bin")
    assert len(bars) == 8
    by_series = {
        name: [int(b.get("data-count")) for b in bars if b.get("data-series") == name]
        for name in herd
    }
    assert by_series == herd
    heights = {int(b.get("data-count")): float(b.get("height")) for b in bars}
    assert heights[100] > heights[30] > heights[20] > heights[0] == 0
    assert "&lt;jitter&gt;" in out


def test_histogram_single_series_and_ragged_lengths() -> None:
    root = parse(svg.histogram([1, 2, 3], bin_ms=250))
    assert [b.get("data-count") for b in marks(root, "rect", "bin")] == ["1", "2", "3"]
    assert "500ms" in texts(root)
    ragged = parse(svg.histogram({"a": [1], "b": [1, 2, 3]}))
    assert len(marks(ragged, "rect", "bin")) == 6


def test_state_diagram_draws_the_transition_table() -> None:
    rows = transition_rows()
    root = parse(svg.state_diagram(rows, title="states"))
    edges = marks(root, "path", "edge")
    assert sorted((e.get("data-from"), e.get("data-to")) for e in edges) == rows
    states = [g.get("data-state") for g in marks(root, "g", "state")]
    assert states == [s.value for s in ConnectionState]
    assert all(e.get("marker-end") for e in edges)


def test_state_diagram_escapes_and_handles_self_loops() -> None:
    root = parse(svg.state_diagram([("a&b", "a&b"), ("a&b", "<c>")]))
    assert {g.get("data-state") for g in marks(root, "g", "state")} == {"a&b", "<c>"}
    assert len(marks(root, "path", "edge")) == 2


def test_outages_chart_one_row_per_outage_one_mark_per_attempt() -> None:
    first = svg.OutageMark(
        1, 0.5,
        (svg.AttemptMark(1, 0.0, planned=1.0, actual=1.02),
         svg.AttemptMark(2, 1.02, planned=2.0, actual=None)),
        ended=None, outcome="ongoing", attempts_total=2,
    )
    second = svg.OutageMark(2, 9.0, (svg.AttemptMark(1, 0.0, 0.1, 0.1),), 0.2, "recovered", 1)
    root = parse(svg.outages_chart([first, second], hidden=3))
    rows = marks(root, "g", "outage")
    assert [r.get("data-outcome") for r in rows] == ["ongoing", "recovered"]
    groups = marks(rows[0], "g", "attempt")
    assert [g.get("data-attempt") for g in groups] == ["1", "2"]
    assert groups[0].get("data-actual") == "1.020"
    assert marks(groups[0], "circle", "start") and not marks(groups[1], "circle", "start")
    assert len(marks(rows[1], "rect", "end")) == 1 and not marks(rows[0], "rect", "end")
    assert "3 earlier outages not shown" in svg.outages_chart([first], hidden=3)
    empty = parse(svg.outages_chart([]))
    assert marks(empty, "text", "empty")


def test_nice_step() -> None:
    assert svg.nice_step(10) == 2
    assert svg.nice_step(315) == 50
    assert svg.nice_step(0) == 1.0


@given(st.lists(st.floats(0, 10), max_size=200))
def test_bin_counts_loses_nothing(times: list[float]) -> None:
    assert sum(svg.bin_counts(times, 100)) == len(times)
