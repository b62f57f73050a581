"""``python -m servers.proxy --block-upgrade``: WebSocket refused, polling and streams pass."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtlab import proxy as lab_proxy
from rtlab.backoff import Constant
from rtlab.socketio import SocketIOClient
from servers.proxy import BadRequest, Head, parse_head, upstream_head


@pytest.fixture(scope="module")
def blocking(shared_server):
    made = lab_proxy.ProxyProcess.launch(shared_server.url, block_upgrade=True)
    yield made
    made.stop()


def test_parse_head_and_rewrite_drop_hop_by_hop_headers():
    head = parse_head(b"GET /x?a=1 HTTP/1.1\r\nHost: p:1\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\nAccept: */*")
    assert head.wants_upgrade and head.get("accept") == "*/*"
    out = upstream_head(head, "up:2", "10.0.0.1", keep_upgrade=False).decode()
    assert "Upgrade:" not in out and "Connection: close" in out and "Host: up:2" in out
    assert out.startswith("GET /x?a=1 HTTP/1.1\r\n") and out.endswith("\r\n\r\n")
    assert not Head("GET", "/", "HTTP/1.1", []).wants_upgrade
    with pytest.raises(BadRequest):
        parse_head(b"nonsense")


async def test_raw_websocket_is_refused_with_403(blocking):
    with pytest.raises(InvalidStatus) as refused:
        await connect(blocking.ws_url("/ws/echo"), proxy=None, open_timeout=3)
    assert refused.value.response.status_code == 403
    assert "/ws/echo" in blocking.stats()["blocked_paths"]


async def test_plain_requests_pass(blocking):
    async with httpx.AsyncClient() as http:
        answer = await http.post(blocking.http_url("/auth/login"),
                                 json={"username": "bob", "password": "password"})
    assert answer.status_code == 200 and answer.json()["token_type"] == "bearer"


async def test_socketio_falls_back_to_polling_and_works(blocking):
    before = blocking.stats()["blocked_upgrades"]
    async with SocketIOClient(blocking.url, namespaces=("/", "/chat")) as client:
        assert client.transport == "polling"
        assert (await client.call("whoami"))["transport"] == "polling"
        assert (await client.call("join", {"room": "px"}, namespace="/chat"))["room"] == "px"
    assert blocking.stats()["blocked_upgrades"] > before  # it did try to upgrade


async def test_websocket_first_never_connects_through_it(blocking):
    client = SocketIOClient(blocking.url, transports=("websocket", "polling"), max_attempts=1,
                            policy=Constant(0.01))
    with pytest.raises(ConnectionError):
        await client.connect(timeout=5)
    assert client.state == "error" and client.connections == 0
    await client.close()


async def test_event_streams_pass_as_they_are_written(blocking):
    events = []
    async with httpx.AsyncClient(timeout=5) as http:
        async with http.stream("GET", blocking.http_url("/sse/news?interval=0.05")) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            async for line in answer.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                if len(events) == 3:
                    break
    assert len({e["id"] for e in events}) == 3


async def test_upstream_down_answers_502():
    gone = lab_proxy.ProxyProcess.launch("http://127.0.0.1:9", block_upgrade=True)
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(gone.http_url("/"))
        assert answer.status_code == 502
    finally:
        gone.stop()
