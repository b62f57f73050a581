"""Classroom mode's door: the join token on every protocol, and each per-client limit answered
in the protocol's own words. A real ``python -m servers --classroom`` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

_spec = importlib.util.spec_from_file_location(
    "classroom_support", Path(__file__).with_name("classroom_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
JOIN, TEACH = support.JOIN, support.TEACH
classroom, strict_classroom = support.classroom, support.strict_classroom  # fixtures

MISSING, WRONG = (None, "JOIN_TOKEN_MISSING"), ("not-the-token", "JOIN_TOKEN_WRONG")


def ws_url(http_url: str) -> str:
    return "ws" + http_url[4:]


async def close_of(url: str, *, subprotocols: list[str] | None = None,
                   send: list[str] = ()) -> tuple[int, str, str | None]:
    """(close code, reason, chosen subprotocol) of a WebSocket the server closes."""
    async with connect(url, subprotocols=subprotocols, proxy=None, open_timeout=5) as ws:
        chosen = ws.subprotocol
        for text in send:
            await ws.send(text)
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or "", chosen


# -- the join token, protocol by protocol ------------------------------------------------------
@pytest.mark.parametrize(("token", "code"), [MISSING, WRONG])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/", None),
    ("GET", "/graphql?query=%7B__typename%7D", None),
    ("POST", "/graphql", {"query": "{ __typename }"}),
    ("POST", "/auth/login", {"username": "alice", "password": "password"}),
    ("GET", "/sse/news", None),
    ("GET", "/socket.io/?EIO=4&transport=polling", None),
    ("GET", "/_chaos/stats", None),
])
async def test_http_without_the_join_token_is_401_with_a_reason(classroom, method, path, body,
                                                                token, code) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.request(method, classroom.url(path, token), json=body)
    assert answer.status_code == 401
    assert answer.json()["code"] == code
    assert "join" in answer.json()["error"]
    assert answer.headers["www-authenticate"].startswith("JoinToken")


async def test_http_with_the_join_token_in_query_or_header_is_served(classroom) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        query = await http.post(classroom.url("/graphql"), json={"query": "{ __typename }"})
        header = await http.post(f"{classroom.base}/graphql", json={"query": "{ __typename }"},
                                 headers={"X-Rtlab-Join": JOIN, "X-Rtlab-Client": "hdr"})
        login = await http.post(classroom.url("/auth/login"),
                                json={"username": "alice", "password": "password"})
        async with http.stream("GET", classroom.url("/sse/news?interval=0.05")) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = await anext(stream.aiter_lines())
    assert query.json() == header.json() == {"data": {"__typename": "Query"}}
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    assert first  # the stream flows


async def test_a_path_glued_after_the_query_gets_a_hint(classroom) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{classroom.base}?join={JOIN}&client=ada/graphql")
    assert answer.status_code == 400
    assert answer.json()["code"] == "BAD_CLIENT_ID"
    assert "server.http_url(path)" in answer.json()["error"]


@pytest.mark.parametrize(("token", "code"), [MISSING, WRONG])
@pytest.mark.parametrize("path", ["/ws/echo", "/ws/chat", "/ws/ticker"])
async def test_raw_websocket_without_the_token_is_accepted_then_closed_4401(
        classroom, path, token, code) -> None:
    close, reason, _ = await close_of(ws_url(classroom.url(path, token)))
    assert close == 4401
    assert "join token" in reason


async def test_raw_websocket_with_the_token_is_served(classroom) -> None:
    async with connect(ws_url(classroom.url("/ws/echo")), proxy=None) as ws:
        await ws.send('{"type": "ping", "id": "1"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_graphql_over_websocket_is_closed_4401_in_either_subprotocol(classroom,
                                                                         subprotocol) -> None:
    close, reason, chosen = await close_of(ws_url(classroom.url("/graphql", None)),
                                           subprotocols=[subprotocol])
    assert (close, chosen) == (4401, subprotocol)  # accepted in its subprotocol, then closed
    assert "join token missing" in reason
    async with connect(ws_url(classroom.url("/graphql")), subprotocols=[subprotocol],
                       proxy=None) as ws:
        await ws.send('{"type": "connection_init", "payload": {}}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
async def test_socketio_without_the_token_fails_fast_with_connect_error(classroom,
                                                                        transports) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    errors = []
    sio.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await asyncio.wait_for(sio.connect(classroom.url("/", "wrong"), transports=transports,
                                           wait_timeout=5), 10)
    assert errors, "connect_error was not emitted"
    if transports == ["polling"]:  # engineio hands the 401's JSON body to connect_error
        assert errors[0]["code"] == "JOIN_TOKEN_WRONG"


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
async def test_socketio_with_the_token_keeps_it_on_every_request(classroom, transports) -> None:
    """python-engineio puts the URL's query on every poll and on the upgrade: 20 acks over
    polling are 20+ requests, each checked at the door."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(classroom.url("/"), transports=transports, wait_timeout=5)
    try:
        for n in range(20):
            assert await sio.call("echo", n, timeout=5) == n
    finally:
        await sio.eio.disconnect(abort=True)


async def test_the_instructor_token_opens_the_stats_a_student_token_does_not(classroom) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        student = await http.get(classroom.url("/_classroom/stats"))
        teacher = await http.get(classroom.url("/_classroom/stats", TEACH))
    assert student.status_code == 403 and student.json()["code"] == "INSTRUCTOR_ONLY"
    assert teacher.status_code == 200 and "protocols" in teacher.json()
    assert classroom.instructor_file.read_text().strip() == TEACH


# -- limits --------------------------------------------------------------------------------------
RATE = 20  # strict_classroom's --rate
BURST = 2 * RATE + 5  # over the limit in one of at most two fixed windows


async def test_http_rate_limit_is_429_with_retry_after_per_client(strict_classroom) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        answers = [await http.get(strict_classroom.url("/", client="busy"))
                   for _ in range(BURST)]
        other = await http.get(strict_classroom.url("/", client="calm"))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert refused[0].json()["code"] == "RATE_LIMITED"
    assert int(refused[0].headers["retry-after"]) >= 1
    assert other.status_code == 200  # another client id is not slowed by this one


async def test_websocket_rate_limit_closes_1008(strict_classroom) -> None:
    close, reason, _ = await close_of(ws_url(strict_classroom.url("/ws/echo", client="chatty")),
                                      send=['{"type": "ping"}'] * BURST)
    assert close == 1008
    assert reason.startswith("rate limit")


async def test_socketio_rate_limit_answers_an_error_ack(strict_classroom) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(strict_classroom.url("/", client="sio"), transports=["websocket"])
    try:
        acks = [await sio.call("echo", n, timeout=5) for n in range(BURST)]
    finally:
        await sio.eio.disconnect(abort=True)
    refused = [a for a in acks if isinstance(a, dict) and "error" in a]
    assert refused and refused[0]["error"].startswith("rate limit")
    assert acks[0] == 0


async def refused_both_ways(room, client: str) -> tuple[tuple[int, str, str | None],
                                                        httpx.Response]:
    """A WebSocket's close and an HTTP request's answer, both from ``client``."""
    closed = await close_of(ws_url(room.url("/ws/echo", client=client)))
    async with httpx.AsyncClient(timeout=5) as http:
        return closed, await http.get(room.url("/", client=client))


async def test_connections_per_client_and_in_all(strict_classroom) -> None:
    """--client-connections 3, --max-connections 5."""
    opened = []
    try:
        for client in ("one", "one", "one", "two", "two"):
            opened.append(await connect(ws_url(strict_classroom.url("/ws/echo", client=client)),
                                        proxy=None))
            if len(opened) == 3:  # one's third: a fourth is one too many for one
                closed, answer = await refused_both_ways(strict_classroom, "one")
                assert closed[0] == 1008 and "connections open" in closed[1]
                assert answer.status_code == 429
                assert answer.json()["code"] == "TOO_MANY_CONNECTIONS"
        closed, answer = await refused_both_ways(strict_classroom, "three")  # five in all
        assert closed[0] == 1013 and "full" in closed[1]
        assert answer.status_code == 503 and answer.json()["code"] == "SERVER_FULL"
        assert "retry-after" in answer.headers
    finally:
        for ws in opened:
            await ws.close()
    async with connect(ws_url(strict_classroom.url("/ws/echo", client="three")),
                       proxy=None) as ws:  # room again once the others left
        await ws.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"


async def test_message_size_limits_hold_in_classroom_mode(classroom) -> None:
    close, _reason, _ = await close_of(ws_url(classroom.url("/ws/echo")),
                                       send=["x" * (64 * 1024 + 1)])
    assert close == 1009
    async with httpx.AsyncClient(timeout=5) as http:
        big = await http.post(classroom.url("/graphql"), content=b"[" + b"1," * 200_000 + b"1]",
                              headers={"content-type": "application/json"})
    assert big.status_code == 413
