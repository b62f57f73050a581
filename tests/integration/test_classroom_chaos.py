"""Chaos by role on a classroom server: a student breaks only their own links, the instructor
breaks everyone's, and the remote handle's kill/restart/freeze say what they do instead."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from rtlab.backoff import Constant
from rtlab.remote import RemoteServer, RemoteServerError
from rtlab.waiting import until_count
from rtlab.ws import ReconnectingWebSocket

_spec = importlib.util.spec_from_file_location(
    "classroom_support", Path(__file__).with_name("classroom_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
classroom = support.classroom  # fixture


def ticker(server: RemoteServer, name: str) -> ReconnectingWebSocket:
    return ReconnectingWebSocket(server.ws_url("/ws/ticker?rate=20"), heartbeat_interval=0.3,
                                 heartbeat_timeout=0.3, policy=Constant(0.1), name=name)


def reconnects(client: ReconnectingWebSocket) -> int:
    return client.timeline.states().count("reconnecting")


async def flowing(client: ReconnectingWebSocket, more: int = 5) -> None:
    """``more`` messages arrive (the link works now)."""
    await until_count(client.timeline, "in", len(client.timeline.of_kind("in")) + more,
                      timeout=5)


@pytest.fixture
async def pair(classroom):
    """Two students, ann and ben, each with a ticker."""
    ann, ben = classroom.student("ann"), classroom.student("ben")
    clients = ticker(ann, "ann"), ticker(ben, "ben")
    await asyncio.gather(*(c.connect() for c in clients))
    yield ann, ben, *clients
    await asyncio.gather(*(c.close() for c in clients))


async def test_a_students_freeze_stops_only_their_own_links(pair) -> None:
    ann, ben, ann_ws, ben_ws = pair
    answer = await ann.chaos.afreeze()
    try:
        assert answer["connections"] == 1
        await ann_ws.wait_for("reconnecting", timeout=5)  # ann's heartbeat saw her link freeze
        await flowing(ben_ws, 10)  # ben's ticks kept coming meanwhile
        assert (await ann.chaos.astats())["frozen"] is True
        assert (await ben.chaos.astats())["frozen"] is False
    finally:
        await ann.chaos.athaw()
    await ann_ws.wait_for("connected", timeout=5)
    assert reconnects(ben_ws) == 0


async def test_a_students_drop_reject_and_latency_stay_theirs(pair) -> None:
    ann, ben, ann_ws, ben_ws = pair
    assert (await ann.chaos.astats())["ws"] == 1  # a student counts their own links only
    await ann.chaos.areject(503, 30)
    dropped = await ann.chaos.adrop()
    assert dropped["dropped"] == 1
    await until_count(ann_ws.timeline, "attempt", 2, timeout=5)  # refused, and trying again
    assert ann_ws.state.value != "connected"
    late = ticker(ben, "ben-late")  # ben may still open new links
    await late.connect(timeout=5)
    await late.close()
    await flowing(ben_ws)
    await ann.chaos.areset()
    await ann_ws.wait_for("connected", timeout=5)

    await ann.chaos.alatency(400)
    try:
        assert await round_trip(ann) >= 0.4
        assert await round_trip(ben) < 0.4
        assert (await ann.chaos.astats())["latency_ms"] == 400
        assert (await ben.chaos.astats())["latency_ms"] == 0
    finally:
        await ann.chaos.areset()
    assert reconnects(ben_ws) == 0


async def round_trip(server: RemoteServer) -> float:
    """Seconds from a ping to its pong on a fresh /ws/echo link (handshake not counted)."""
    async with connect(server.ws_url("/ws/echo"), proxy=None) as ws:
        start = time.monotonic()
        await ws.send('{"type": "ping"}')
        await asyncio.wait_for(ws.recv(), 5)
        return time.monotonic() - start


async def test_the_instructors_chaos_reaches_everyone_and_starts_a_herd(classroom, pair) -> None:
    _ann, _ben, ann_ws, ben_ws = pair
    teacher = classroom.instructor()
    assert (await teacher.chaos.astats())["ws"] == 2
    answer = await teacher.chaos.arestart(seconds=0.5)
    assert answer["dropped"] == 2
    await asyncio.gather(ann_ws.wait_for("reconnecting", timeout=5),
                         ben_ws.wait_for("reconnecting", timeout=5))
    await asyncio.gather(ann_ws.wait_for("connected", timeout=10),
                         ben_ws.wait_for("connected", timeout=10))
    herd = (await asyncio.to_thread(_classroom_stats, teacher))["herd"]
    assert herd["cause"] == "restart"
    assert herd["total"] >= 2  # both came back, and were refused at least once on the way
    assert herd["bucket_ms"] == 100
    assert sum(herd["attempts"]) == herd["total"]


def _classroom_stats(teacher: RemoteServer) -> dict:
    import httpx

    return httpx.get(teacher.http_url("/_classroom/stats"), timeout=5).json()


async def test_stats_name_who_is_connected_on_which_protocol(classroom, pair) -> None:
    stats = await asyncio.to_thread(_classroom_stats, classroom.instructor())
    assert stats["protocols"]["ws"]["clients"] == {"ann": 1, "ben": 1}
    assert {"ann", "ben"} <= set(stats["clients"])
    rates = []
    for _ in range(30):  # the last whole second's count: two tickers at 20/s make about 40
        stats = await asyncio.to_thread(_classroom_stats, classroom.instructor())
        rates.append(stats["messages_per_second"]["out"])
        if rates[-1] >= 30:
            break
        await asyncio.sleep(0.1)
    assert rates[-1] >= 30, rates


def test_a_remote_handle_refuses_what_only_the_owner_can_do(classroom) -> None:
    strict = classroom.student("cid")
    for action, scoped in ((strict.kill, "chaos.drop"), (strict.restart, "chaos.reset"),
                           (strict.freeze, "chaos.freeze"), (strict.stop, "chaos.drop")):
        with pytest.raises(RemoteServerError, match=scoped):
            action()
    assert strict.pid is None and strict.alive


async def test_stand_ins_kill_and_restart_the_notebooks_own_links(classroom, capsys) -> None:
    mine = RemoteServer(classroom.base, support.JOIN, "stand-in", stand_ins=True)
    other = classroom.student("bystander")
    mine_ws, other_ws = ticker(mine, "mine"), ticker(other, "other")
    await asyncio.gather(mine_ws.connect(), other_ws.connect())
    try:
        await asyncio.to_thread(mine.kill)
        await until_count(mine_ws.timeline, "attempt", 3, timeout=5)  # refused while "down"
        assert mine_ws.state.value != "connected"
        await flowing(other_ws)
        await asyncio.to_thread(mine.restart)
        await mine_ws.wait_for("connected", timeout=5)
        assert reconnects(other_ws) == 0
    finally:
        await asyncio.gather(mine_ws.close(), other_ws.close())
    printed = capsys.readouterr().out
    assert "kill(): this notebook does not own the classroom server" in printed
    assert "restart()" in printed
