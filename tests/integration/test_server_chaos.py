"""/_chaos/*: each fault as a real websockets client sees it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def round_trip(ws, id: str = "x") -> float:
    t0 = time.monotonic()
    await ws.send(json.dumps({"type": "t", "id": id}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 3))["id"] == id
    return time.monotonic() - t0


async def test_drop_abort_gives_1006_and_close_gives_1012(lab_server) -> None:
    url = lab_server.ws_url("/ws/echo")
    async with connect(url) as a, connect(url):
        await round_trip(a)
        result = await lab_server.chaos.adrop(protocol="ws", mode="abort")
        assert result["dropped"] == 2
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(a.recv(), 2)
        assert info.value.rcvd is None and a.close_code == 1006
    async with connect(url) as c:
        assert lab_server.chaos.drop(protocol="ws", mode="close")["dropped"] == 1
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(c.recv(), 2)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1012


async def test_drop_spares_other_protocols(lab_server) -> None:
    async with connect(lab_server.ws_url("/ws/echo")) as ws:
        assert lab_server.chaos.drop(protocol="sse")["dropped"] == 0
        await round_trip(ws)


async def test_latency_delays_handshake_and_messages(lab_server) -> None:
    url = lab_server.ws_url("/ws/echo")
    async with connect(url) as ws:
        assert await round_trip(ws) < 0.1
        lab_server.chaos.latency(250)
        assert await round_trip(ws) >= 0.25
        t0 = time.monotonic()
        async with connect(url):
            assert time.monotonic() - t0 >= 0.25  # the 101 answer is delayed too
        assert lab_server.chaos.stats()["latency_ms"] == 250
        lab_server.chaos.latency(0)
        assert await round_trip(ws) < 0.1


async def test_freeze_stops_protocol_pongs_until_thaw(lab_server) -> None:
    async with connect(lab_server.ws_url("/ws/echo"), ping_interval=None) as ws:
        await round_trip(ws)
        assert (await lab_server.chaos.afreeze())["connections"] == 1
        pong = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pong), 0.5)
        await ws.send(json.dumps({"type": "t", "id": "held"}))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        assert lab_server.chaos.stats()["frozen"] is True  # chaos itself still answers
        lab_server.chaos.thaw()
        await asyncio.wait_for(pong, 1)  # the held ping is answered after thaw
        assert json.loads(await asyncio.wait_for(ws.recv(), 1))["id"] == "held"
        await asyncio.wait_for(await ws.ping(), 1)


async def test_reject_refuses_handshakes_with_the_status_then_reset(lab_server) -> None:
    url = lab_server.ws_url("/ws/echo")
    lab_server.chaos.reject(status=503, seconds=30)
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, open_timeout=2):
            pass
    assert info.value.response.status_code == 503
    assert httpx.get(lab_server.url, timeout=2).status_code == 503
    assert lab_server.chaos.stats()["reject"]["status"] == 503
    lab_server.chaos.reset()
    async with connect(url) as ws:
        await round_trip(ws)


async def test_stats_counts_connections_and_messages(lab_server) -> None:
    before = lab_server.chaos.stats()
    assert before["ws"] == 0 and set(before["connections"].values()) == {0}
    assert before["frozen"] is False
    async with (
        connect(lab_server.ws_url("/ws/echo")) as e1,
        connect(lab_server.ws_url("/ws/echo")),
        connect(lab_server.ws_url("/ws/ticker?rate=0.1")) as t,
    ):
        await round_trip(e1)
        await asyncio.wait_for(t.recv(), 2)
        stats = lab_server.chaos.stats()
    assert stats["ws"] == stats["connections"]["ws"] == 3 and stats["sse"] == 0
    assert stats["endpoints"]["/ws/echo"] == 2 and stats["endpoints"]["/ws/ticker"] == 1
    assert stats["messages"]["in"] == before["messages"]["in"] + 1
    assert stats["messages"]["out"] >= before["messages"]["out"] + 2


def test_bad_chaos_bodies_answer_400(shared_server) -> None:
    for name, body in [
        ("drop", {"protocol": "carrier-pigeon"}),
        ("latency", {"ms": -1}),
        ("reject", {"status": 200}),
    ]:
        r = httpx.post(f"{shared_server.url}/_chaos/{name}", json=body, timeout=2)
        assert r.status_code == 400 and r.json()["error"]


def test_chaos_is_off_outside_lab_mode(launch_server, shared_server) -> None:
    server = launch_server(extra_args=("--host", "0.0.0.0"))  # not loopback: classroom-like
    assert httpx.get(f"{server.url}/_chaos/stats", timeout=2).status_code == 404
    assert httpx.post(f"{server.url}/_chaos/freeze", timeout=2).status_code == 404
    assert httpx.get(f"{shared_server.url}/_chaos/stats", timeout=2).status_code == 200
