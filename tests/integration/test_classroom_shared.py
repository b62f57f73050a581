"""What stays a student's own on a shared classroom server, so a chapter notebook runs the same
for each of thirty students at once: the names a client picks (Socket.IO ``clientId``s and
``flaky`` keys), the subscriptions it counts, the short token lifetime it asks for, and every
URL it builds (a GraphQL GET included). A real ``python -m servers --classroom`` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import httpx
import jwt

from rtlab import lab
from rtlab.graphql import (
    GraphQLClient,
    HttpLink,
    NormalizedCache,
    Operation,
    PersistedQueryLink,
    chain,
    is_subscription,
    split,
)
from rtlab.graphql.ws import WebSocketLink
from rtlab.socketio import SocketIOClient, fresh_login
from rtlab.teaching.exchanges import ExchangeLog, caching_headers

_spec = importlib.util.spec_from_file_location(
    "classroom_support", Path(__file__).with_name("classroom_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
classroom = support.classroom  # fixture

ROOM_MESSAGES = "subscription R($id: ID!) { messageReceived(chatRoomId: $id) { id } }"
SUBSCRIBERS = "query S($id: ID!) { chatRoom(id: $id) { subscribers } }"
CARD = "query Card($id: ID!) { user(id: $id) { id name } }"


async def login(server, **headers) -> dict:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.post(server.http_url("/auth/login"), headers=headers,
                                 json={"username": "alice", "password": "password"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def lifetime(token: str) -> float:
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["exp"] - claims["iat"]


async def test_a_short_token_ttl_is_honoured_for_that_client_only_and_never_longer(
        classroom) -> None:
    short = classroom.student("short")
    short.token_ttl = 2
    pair = await login(short)
    assert pair["expires_in"] == 2 and 2 <= lifetime(pair["access_token"]) < 3
    async with httpx.AsyncClient(timeout=5) as http:
        again = (await http.post(short.http_url("/auth/refresh"),
                                 json={"refresh_token": pair["refresh_token"]})).json()
    assert again["expires_in"] == 2  # the refresh keeps it short
    assert (await login(classroom.student("plain")))["expires_in"] == 900  # the server's
    greedy = classroom.student("greedy")
    greedy.token_ttl = 86400
    assert (await login(greedy))["expires_in"] == 900  # never longer than the server's
    async with httpx.AsyncClient(timeout=5) as http:
        bad = await http.get(classroom.url("/") + "&token_ttl=nan")
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_TOKEN_TTL"


async def test_lab_start_token_ttl_under_rtlab_server_is_this_kernels_own(classroom,
                                                                          monkeypatch) -> None:
    """Notebooks 01 and 03 start with ``lab.start(token_ttl=2)``: a shared server honours it."""
    monkeypatch.setenv("RTLAB_SERVER", f"{classroom.base}/?join={support.JOIN}")
    monkeypatch.setattr(lab, "_shared_remote", None)
    plain = await asyncio.to_thread(lab.start)
    short = await asyncio.to_thread(lab.start, token_ttl=2)
    assert short.client == plain.client and short is not plain  # one kernel, one client id
    assert await asyncio.to_thread(lab.start, token_ttl=2) is short  # reused
    assert [(await login(s))["expires_in"] for s in (plain, short)] == [900, 2]


async def test_a_graphql_get_keeps_the_join_token_and_reads_the_caching_headers(
        classroom) -> None:
    """httpx's ``params=`` replaces a URL's query: the GET must still carry ?join=&client=."""
    student = classroom.student("getter")
    graphql = student.http_url("/graphql")
    async with HttpLink(graphql) as http:
        log = ExchangeLog(http)
        link = chain(PersistedQueryLink(use_get=True), log, http)
        answers = [await link.request(Operation.of(CARD, {"id": "2"})) for _ in range(2)]
    assert [a.data for a in answers] == [{"user": {"id": "2", "name": "Bob Brown"}}] * 2
    assert [row.method for row in log.rows] == ["GET", "POST", "GET"]  # miss, store, hit
    said = await caching_headers(graphql, Operation.of(CARD, {"id": "2"}))
    assert said["cache-control"] == "public, max-age=5" and "etag" in said


async def test_a_students_subscriber_count_is_their_own_the_instructors_everyones(
        classroom) -> None:
    students = [classroom.student(name) for name in ("sub-a", "sub-b")]
    clients = [GraphQLClient(split(is_subscription, WebSocketLink(s.ws_url("/graphql")),
                                   HttpLink(s.http_url("/graphql"))), NormalizedCache())
               for s in students]
    teacher = GraphQLClient(HttpLink(classroom.instructor().http_url("/graphql")),
                            NormalizedCache())

    async def count(client) -> int:
        answer = await client.query(SUBSCRIBERS, {"id": "shared"}, fetch_policy="network-only")
        return answer.data["chatRoom"]["subscribers"]

    try:
        subs = [c.subscribe(ROOM_MESSAGES, {"id": "shared"}) for c in clients]
        subs.append(clients[0].subscribe(ROOM_MESSAGES, {"id": "shared"}))  # a's second
        await asyncio.gather(*(s.wait_live() for s in subs))
        while await count(teacher) < 3:  # registered a moment after it is sent
            await asyncio.sleep(0.05)
        assert [await count(c) for c in clients] == [2, 1]
        assert await count(teacher) == 3
    finally:
        await asyncio.gather(*(c.close() for c in (*clients, teacher)))


async def test_two_students_with_the_same_client_id_and_flaky_key_do_not_meet(
        classroom) -> None:
    """Notebook 05 sends ``clientId`` "nb05-1" and ``flaky`` key "nb05-a": for every student."""
    users = []
    for name in ("sio-a", "sio-b"):
        server = classroom.student(name)
        user = SocketIOClient(server.url, token=fresh_login(server.url, "alice"),
                              namespaces=("/", "/chat"), transports=("websocket",), name=name)
        users.append(user)
    try:
        await asyncio.gather(*(u.connect() for u in users))
        message = {"room": "kitchen", "text": "coffee?", "clientId": "same-1"}
        acks = []
        for user in users:
            await user.call("join", {"room": "kitchen"}, namespace="/chat")
            acks.append(await user.call("chat_message", message, namespace="/chat"))
        assert [a.get("duplicate") for a in acks] == [None, None]  # two senders, not a retry
        assert acks[0]["id"] != acks[1]["id"]
        again = await users[0].call("chat_message", message, namespace="/chat")
        assert again == {**acks[0], "duplicate": True}  # a retry is still one
        flaky = [await u.call("flaky", {"key": "same-k", "ignore": 1}, timeout=0.3, retries=1)
                 for u in users]
        assert [f["calls"] for f in flaky] == [2, 2]  # each lost its own first answer
    finally:
        await asyncio.gather(*(u.close() for u in users))
