"""The widgets follow a timeline, throttle, stay bounded, and read well as plain text."""

from __future__ import annotations

import asyncio
import threading
import time
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from rtlab.state import (
    ATTEMPT,
    BACKOFF,
    FRAME_IN,
    FRAME_OUT,
    STATE,
    ConnectionState,
    StateMachine,
    Timeline,
)
from rtlab.widgets import (
    BackoffTimeline,
    ChaosPanel,
    FrameLog,
    MessageList,
    StatusPill,
    timeline_of,
)

S = ConnectionState
VIEW = "application/vnd.jupyter.widget-view+json"


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def classes(widget) -> list[str]:
    return list(widget._dom_classes)


# -- sources -------------------------------------------------------------------------


def test_timeline_of_accepts_timeline_or_client() -> None:
    tl = Timeline()
    assert timeline_of(tl) is tl
    assert timeline_of(SimpleNamespace(timeline=tl)) is tl
    assert timeline_of(None) is None
    with pytest.raises(TypeError):
        timeline_of(object())


# -- StatusPill ----------------------------------------------------------------------


def test_pill_without_loop_follows_states_synchronously() -> None:
    tl = Timeline()
    pill = StatusPill(tl, label="websocket")
    assert "rtlab-statuspill" in classes(pill)
    assert 'data-state="disconnected"' in pill.value
    colors = {}
    for state in (S.CONNECTING, S.CONNECTED, S.RECONNECTING, S.ERROR):
        tl.record(STATE, state=state)
        assert pill.state == state
        assert f'data-state="{state.value}"' in pill.value
        assert f">{state.value}<" in pill.value
        colors[state] = pill.value.split("background:")[1].split(";")[0]
    assert colors[S.CONNECTED] != colors[S.ERROR] != colors[S.CONNECTING]
    assert colors[S.CONNECTING] == colors[S.RECONNECTING]
    assert "websocket" in pill.value


async def test_pill_follows_state_machine_after_flush() -> None:
    tl = Timeline()
    machine = StateMachine(tl)
    pill = StatusPill(SimpleNamespace(timeline=tl, state=machine.state), label="sse")
    machine.to(S.CONNECTING)
    machine.to(S.CONNECTED)
    assert 'data-state="disconnected"' in pill.value  # throttled: not drawn inside the cell
    await pill.flushed()
    assert 'data-state="connected"' in pill.value
    assert pill.text() == "[connected] sse"


async def test_pill_shows_attempt_while_reconnecting() -> None:
    tl = Timeline()
    pill = StatusPill(tl)
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.RECONNECTING)
    tl.record(BACKOFF, attempt=3, delay=4.0)
    await pill.flushed()
    assert "attempt 3" in pill.value
    assert pill.text() == "[reconnecting] attempt 3"
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.CONNECTED)
    await pill.flushed()
    assert "attempt" not in pill.text()


def test_pill_starts_from_existing_history() -> None:
    tl = Timeline()
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.ERROR, detail="refused")
    pill = StatusPill(tl)
    assert pill.state == S.ERROR
    assert pill.text() == "[error] (refused)"


async def test_pill_keeps_a_short_history_of_a_brief_drop() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    pill = StatusPill(tl, label="ticker", history=2)
    tl.record(STATE, state=S.CONNECTING)
    clock.now = 0.02
    tl.record(STATE, state=S.CONNECTED)
    await pill.flushed()
    assert pill.history == [] and pill.text() == "[connected] ticker"  # the first connect
    clock.now = 4.02
    tl.record(STATE, state=S.RECONNECTING)  # amber for 0.3 s, then back:
    clock.now = 4.32
    tl.record(STATE, state=S.CONNECTING)
    clock.now = 4.34
    tl.record(STATE, state=S.CONNECTED)
    await pill.flushed()  # one redraw after the whole drop: amber was never drawn live
    assert pill.history == [("connecting", pytest.approx(0.02)),
                            ("reconnecting", pytest.approx(0.3))]
    assert pill.text() == "[connected] ticker | before: connecting 0.02s, reconnecting 0.30s"
    past = [p for p in pill.value.split('class="rtlab-pill-past"')[1:]]
    assert [p.split('data-state="')[1].split('"')[0] for p in past] == [
        "connecting", "reconnecting"]


def test_pill_says_why_a_client_stopped() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    pill = StatusPill(tl, label="feed")
    for state in (S.CONNECTING, S.CONNECTED):
        tl.record(STATE, state=state)
    clock.now = 12.5
    tl.record(STATE, state=S.DISCONNECTED, detail="closed by the client")
    assert pill.text() == "[disconnected] feed (closed by the client) | before: connected 12s"
    assert "closed by the client" in pill.value


async def test_event_from_another_thread_updates_pill_via_loop() -> None:
    tl = Timeline()
    pill = StatusPill(tl)
    loop_thread = threading.get_ident()
    writers: list[int] = []
    pill.observe(lambda change: writers.append(threading.get_ident()), "value")

    def client_thread() -> None:
        tl.record(STATE, state=S.CONNECTING)
        tl.record(STATE, state=S.CONNECTED)

    await asyncio.to_thread(client_thread)
    await pill.flushed()
    assert 'data-state="connected"' in pill.value
    assert writers and set(writers) == {loop_thread}


# -- MessageList ---------------------------------------------------------------------


async def test_messagelist_5000_per_second_bounded_redraws_and_memory() -> None:
    tl = Timeline(maxlen=1000)
    ml = MessageList(tl, maxlen=200)
    before = ml.renders
    start = time.monotonic()
    n = 0
    for _ in range(50):  # 50 x 100 messages, ~10 ms apart: about 5,000 per second
        for _ in range(100):
            tl.record(FRAME_IN, data={"n": n, "text": f"msg {n}"})
            n += 1
        await asyncio.sleep(0.01)
    await ml.flushed()
    elapsed = time.monotonic() - start
    redraws = ml.renders - before
    assert ml.count == 5000
    assert len(ml.messages) == 200 and ml._items.maxlen == 200
    assert ml.messages[-1] == {"n": 4999, "text": "msg 4999"}
    assert 2 <= redraws <= elapsed * 10 + 2, (redraws, elapsed)
    assert 'data-count="5000"' in ml.value
    assert 'data-seq="5000"' in ml.value and "msg 4999" in ml.value
    assert 'data-seq="4800"' not in ml.value  # only the last 200 are drawn
    assert "rtlab-messagelist" in classes(ml)


def test_messagelist_append_kinds_format_and_escaping() -> None:
    tl = Timeline()
    ml = MessageList(tl, maxlen=3, format=lambda m: f"<{m}>")
    tl.record(FRAME_OUT, data="sent")  # not an incoming frame: ignored
    tl.record(FRAME_IN, data="a")
    ml.append("b")
    assert ml.count == 2
    assert "&lt;a&gt;" in ml.value and "<a>" not in ml.value
    assert "sent" not in ml.value
    both = MessageList(tl, kinds=(FRAME_IN, FRAME_OUT))
    assert both.count == 2  # catches up with history
    assert "->" in both.text() and "<-" in both.text()


async def test_messagelist_fed_from_a_thread() -> None:
    ml = MessageList(maxlen=10)

    def feed() -> None:
        for i in range(1000):
            ml.append(i)

    await asyncio.to_thread(feed)
    await ml.flushed()
    assert ml.count == 1000
    assert ml.messages == list(range(990, 1000))
    assert 'data-count="1000"' in ml.value


def test_messagelist_text_is_bounded_and_readable() -> None:
    ml = MessageList(maxlen=50, title="ticker")
    for i in range(60):
        ml.append({"price": i})
    text = ml.text(limit=5)
    lines = text.splitlines()
    assert lines[0] == "ticker: 60 received, showing the last 50"
    assert lines[-1] == '  60: {"price":59}'
    assert len(lines) == 7


# -- FrameLog ------------------------------------------------------------------------


def test_framelog_times_relative_to_start_and_arrows() -> None:
    clock = FakeClock(100.0)
    tl = Timeline(clock=clock)
    log = FrameLog(SimpleNamespace(timeline=tl), maxlen=2)
    clock.now = 100.5
    tl.record(FRAME_OUT, data={"type": "ping"})
    clock.now = 101.25
    tl.record(FRAME_IN, data={"type": "pong"})
    tl.record(STATE, state=S.CONNECTING)  # not a frame
    assert log.frames == [(0.5, "out", {"type": "ping"}), (1.25, "in", {"type": "pong"})]
    assert log.text().splitlines() == [
        "frames: 2",
        '     +0.500s -> {"type":"ping"}',
        '     +1.250s <- {"type":"pong"}',
    ]
    tl.record(FRAME_IN, data="<b>")
    assert len(log.frames) == 2 and log.count == 3
    assert "&lt;b&gt;" in log.value and 'data-count="3"' in log.value
    assert "rtlab-framelog" in classes(log)


# -- BackoffTimeline -----------------------------------------------------------------


def _svg_of(widget) -> ET.Element:
    return ET.fromstring(widget.value)


def _attempt_groups(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag.endswith("g") and el.get("class") == "attempt"]


def _outage_groups(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag.endswith("g") and el.get("class") == "outage"]


def _drop_and_recover(tl: Timeline, clock: FakeClock, delays: list[float]) -> None:
    """connected -> reconnecting, one attempt per delay, then connected again."""
    tl.record(STATE, state=S.RECONNECTING)
    for n, delay in enumerate(delays, start=1):
        tl.record(BACKOFF, attempt=n, delay=delay)
        clock.now += delay + 0.01
        tl.record(ATTEMPT, attempt=n, delay=delay, actual=delay + 0.01)
        tl.record(STATE, state=S.CONNECTING)
        if n < len(delays):
            tl.record(STATE, state=S.RECONNECTING)
    clock.now += 0.05
    tl.record(STATE, state=S.CONNECTED)


def test_backoff_timeline_draws_one_mark_per_attempt() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    view = BackoffTimeline(tl)
    assert "rtlab-backofftimeline" in classes(view)
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.RECONNECTING)
    for n, delay in enumerate([1.0, 2.0, 4.0], start=1):
        tl.record(BACKOFF, attempt=n, delay=delay)
        clock.now += delay + 0.01
        tl.record(ATTEMPT, attempt=n, delay=delay, actual=delay + 0.01)
    tl.record(STATE, state=S.CONNECTING)
    groups = _attempt_groups(_svg_of(view))
    assert [g.get("data-attempt") for g in groups] == ["1", "2", "3"]
    assert [g.get("data-planned") for g in groups] == ["1.000", "2.000", "4.000"]
    assert [g.get("data-actual") for g in groups] == ["1.010", "2.010", "4.010"]
    text = view.text().splitlines()
    assert text[0] == "reconnects: 1 outage, 3 attempts"
    assert text[1] == "  outage 1 at +0.000s: 3 attempts, still trying"
    assert "    #2: planned 2.000s, waited 2.010s" in text


def test_backoff_timeline_groups_attempts_by_outage() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    view = BackoffTimeline(tl)
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.CONNECTED)  # the first connect is not an outage
    for delays in ([0.1], [0.1, 0.2], [0.1]):
        clock.now += 5
        _drop_and_recover(tl, clock, delays)
    outages = view.outages
    assert [o.number for o in outages] == [1, 2, 3]
    assert [[a.attempt for a in o.attempts] for o in outages] == [[1], [1, 2], [1]]
    assert [o.outcome for o in outages] == ["recovered"] * 3
    assert outages[1].ended == pytest.approx(0.11 + 0.21 + 0.05)
    assert outages[1].attempts[1].scheduled == pytest.approx(0.11)  # time from the drop
    root = _svg_of(view)
    rows = _outage_groups(root)
    assert [r.get("data-outage") for r in rows] == ["1", "2", "3"]
    assert [r.get("data-attempts") for r in rows] == ["1", "2", "1"]
    assert [len(_attempt_groups(r)) for r in rows] == [1, 2, 1]
    assert "3 outages, 4 attempts" in view.text()
    assert "2 attempts, back after 0.37s" in view.text()


def test_backoff_timeline_height_is_bounded_by_outages_kept() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    view = BackoffTimeline(tl, max_outages=4)
    tl.record(STATE, state=S.CONNECTING)
    tl.record(STATE, state=S.CONNECTED)
    heights = []
    for _ in range(12):
        clock.now += 3
        _drop_and_recover(tl, clock, [0.1, 0.2])
        drawing = next(el for el in _svg_of(view).iter() if el.tag.endswith("svg"))
        heights.append(float(drawing.get("height")))
    assert view.outages_seen == 12 and view.attempts_seen == 24
    assert [o.number for o in view.outages] == [9, 10, 11, 12]
    assert len(set(heights[4:])) == 1  # stops growing once four rows are shown
    assert "8 earlier outages not shown" in view.value
    assert view.text().splitlines()[0] == (
        "reconnects: 12 outages, 24 attempts (showing the last 4 outages)"
    )
    assert 'data-outages="12"' in view.value


def test_backoff_timeline_stopped_and_numbering_restarts() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    view = BackoffTimeline(tl)
    for n in (1, 2, 1):  # no state events: a restart of the numbering is a new outage
        clock.now += 1
        tl.record(ATTEMPT, attempt=n, delay=0.5, actual=0.5)
    tl.record(STATE, state=S.DISCONNECTED)
    assert [len(o.attempts) for o in view.outages] == [2, 1]
    assert [o.outcome for o in view.outages] == ["recovered", "stopped"]


def test_backoff_timeline_attempt_without_backoff_and_bounded() -> None:
    clock = FakeClock(0.0)
    tl = Timeline(clock=clock)
    view = BackoffTimeline(tl, max_attempts=5)
    for n in range(1, 9):
        clock.now += 1
        tl.record(ATTEMPT, attempt=n, delay=0.5, actual=0.75)
    assert view.attempts_seen == 8
    assert [a.attempt for a in view.attempts] == [4, 5, 6, 7, 8]
    assert view.outages[0].started == pytest.approx(0.25)
    assert view.attempts[0].scheduled == pytest.approx(3.0)  # from the outage's start
    assert len(_attempt_groups(_svg_of(view))) == 5
    assert 'data-attempts="8"' in view.value


def test_backoff_compare_lanes() -> None:
    view = BackoffTimeline.compare({"chapter": [5, 10, 20], "capped exp": [1, 2, 4, 8]})
    root = _svg_of(view)
    dots = [el for el in root.iter() if el.get("class") == "attempt"]
    assert len(dots) == 7
    assert view.text().splitlines() == [
        "backoff delays (compare):",
        "  chapter: 5, 10, 20 (total 35s)",
        "  capped exp: 1, 2, 4, 8 (total 15s)",
    ]
    assert not view.following


# -- ChaosPanel ----------------------------------------------------------------------


class FakeServer:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.chaos = SimpleNamespace(drop=self._drop)

    def _drop(self) -> dict:
        self.calls.append("drop")
        return {"dropped": 2}

    def kill(self) -> None:
        self.calls.append("kill")

    def restart(self) -> None:
        raise RuntimeError("port <busy>")

    def freeze(self) -> None:
        self.calls.append("freeze")

    async def thaw(self) -> None:
        await asyncio.sleep(0)
        self.calls.append("thaw")


def test_chaos_buttons_call_the_server_and_show_failures() -> None:
    server = FakeServer()
    panel = ChaosPanel(server)
    assert "rtlab-chaospanel" in classes(panel)
    for name in ("kill", "freeze", "drop"):
        panel.buttons[name].click()
    assert server.calls == ["kill", "freeze", "drop"]
    assert panel.last == 'drop: done {"dropped":2}'
    panel.buttons["restart"].click()  # raises inside: shown, not raised
    assert panel.last == "restart: failed: RuntimeError: port <busy>"
    assert "port &lt;busy&gt;" in panel.status.value and 'data-ok="false"' in panel.status.value
    assert panel.text().startswith("chaos: [kill] [restart] [freeze] [thaw] [drop connections]")


def test_chaos_missing_method_is_reported() -> None:
    panel = ChaosPanel(SimpleNamespace(kill=lambda: None))
    panel.buttons["drop"].click()
    assert panel.last.startswith("drop: failed: AttributeError")


async def test_chaos_async_methods_are_awaited_on_the_loop() -> None:
    server = FakeServer()
    panel = ChaosPanel(server)
    panel.buttons["thaw"].click()
    assert panel.last == "thaw: running…"
    for _ in range(10):
        await asyncio.sleep(0)
        if panel.last != "thaw: running…":
            break
    assert server.calls == ["thaw"]
    assert panel.last == "thaw: done"


# -- text fallbacks and closing ------------------------------------------------------


def test_every_widget_has_text_plain_next_to_its_view() -> None:
    tl = Timeline()
    tl.record(STATE, state=S.CONNECTING)
    tl.record(FRAME_IN, data="hello")
    made = [
        StatusPill(tl, label="ws"),
        MessageList(tl),
        FrameLog(tl),
        BackoffTimeline(tl),
        BackoffTimeline.compare({"a": [1]}),
        ChaosPanel(FakeServer()),
    ]
    for widget in made:
        bundle = widget._repr_mimebundle_()
        assert bundle["text/plain"] == widget.text()
        assert VIEW in bundle and bundle[VIEW]["model_id"] == widget.model_id
    assert made[0]._repr_mimebundle_()["text/plain"] == "[connecting] ws"
    assert "1: hello" in made[1]._repr_mimebundle_()["text/plain"]


@pytest.mark.parametrize("make", [StatusPill, MessageList, FrameLog, BackoffTimeline])
def test_close_unsubscribes(make) -> None:
    tl = Timeline()
    widget = make(tl)
    assert widget.following and tl.listener_count == 1
    text_before = widget.text()
    widget.close()
    assert not widget.following and tl.listener_count == 0
    tl.record(STATE, state=S.CONNECTING)
    tl.record(FRAME_IN, data="late")
    tl.record(BACKOFF, attempt=1, delay=1.0)
    assert widget.text() == text_before


async def test_closed_widget_never_redraws() -> None:
    tl = Timeline()
    ml = MessageList(tl)
    tl.record(FRAME_IN, data="x")  # a flush is now scheduled
    renders = ml.renders
    ml.close()
    await asyncio.sleep(0.02)
    assert ml.renders == renders


# -- CacheView order, side_by_side ----------------------------------------------------


def test_cache_view_recent_order_shows_the_newest_rows_first() -> None:
    from rtlab.graphql import NormalizedCache
    from rtlab.widgets import CacheView

    posts = "query P { posts { id title } }"
    cache = NormalizedCache()
    by_type = CacheView(cache, types=["Post"], roots=False, max_rows=3)
    recent = CacheView(cache, types=["Post"], roots=False, max_rows=3, order="recent")
    cache.write_query(posts, None, {"posts": [
        {"__typename": "Post", "id": str(n), "title": f"post {n}"} for n in range(1, 9)]})
    cache.record_optimistic("new", lambda c: c.write_query(posts, None, {"posts": [
        {"__typename": "Post", "id": "temp-1", "title": "guess"}]}))
    by_type.flush_now()
    recent.flush_now()
    assert [row[0] for row in by_type.rows()][:3] == ["Post:1", "Post:2", "Post:3"]
    assert recent.rows()[0][0] == "Post:temp-1" and recent.rows()[0][3]  # optimistic
    assert "Post:temp-1" in recent.text() and "Post:temp-1" not in by_type.text()
    with pytest.raises(ValueError):
        CacheView(cache, order="newest")


def test_side_by_side_gives_each_child_a_share() -> None:
    import ipywidgets

    from rtlab.widgets import side_by_side

    left, right = ipywidgets.HTML("feed"), ipywidgets.HTML("cache")
    row = side_by_side(left, right, shares=(2, 3))
    assert list(row.children) == [left, right]
    assert (left.layout.flex, right.layout.flex) == ("2 1 0%", "3 1 0%")
    assert left.layout.min_width == "260px" and row.layout.flex_flow == "row wrap"
    with pytest.raises(ValueError):
        side_by_side(left, right, shares=(1,))
