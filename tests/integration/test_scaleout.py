"""``python -m servers --workers 2 --broker redis://…`` against a real ``redis-server``: what one
worker publishes reaches a client of the other, on every protocol; long-polling sticks to
its worker; a token issued by one worker is refreshed by the other; killing a worker loses
no other worker's clients.

Placement is forced, not hoped for: every answer says which worker served it
(``x-rtlab-worker``; a Socket.IO session id starts with ``w<N>-``), and a helper
(:mod:`scaleout_support`) connects again until the connection lands on the worker a test
needs. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
import websockets

from servers.handoff import worker_sid
from tests.integration.scaleout_support import (
    TRIES,
    log_says,
    login,
    noop,
    on_worker,
    sio_on,
    sio_worker,
    worker_pids,
)


# -- raw WebSocket: /ws/chat -----------------------------------------------------------------
async def ws_on(server, n: int, path: str, **kwargs: Any) -> Any:
    return await on_worker(
        n, lambda: websockets.connect(server.ws_url(path), **kwargs),
        lambda ws: int(ws.response.headers["x-rtlab-worker"]), lambda ws: ws.close())


async def next_of_type(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            env = json.loads(await ws.recv())
            if env["type"] == kind:
                return env


async def test_a_chat_message_reaches_a_member_on_the_other_worker(workers):
    a = await ws_on(workers, 0, "/ws/chat?room=across")
    b = await ws_on(workers, 1, "/ws/chat?room=across")
    try:
        await next_of_type(a, "joined")
        await next_of_type(b, "joined")
        await a.send(json.dumps({"type": "message", "payload": {"text": "hi from 0"},
                                 "id": "m1"}))
        got = await next_of_type(b, "message")
        assert got["payload"] == {"text": "hi from 0"} and got["id"] == "m1"
        assert (await next_of_type(a, "message"))["id"] == "m1"  # the sender's receipt
        # and back, from the other side
        await b.send(json.dumps({"type": "message", "payload": {"text": "hi from 1"}}))
        assert (await next_of_type(a, "message"))["payload"] == {"text": "hi from 1"}
    finally:
        await a.close()
        await b.close()


# -- Socket.IO -------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_socketio_room_event_reaches_a_member_on_the_other_worker(workers, transport):
    alice = await sio_on(workers, 0, [transport], login(workers, "alice")["access_token"])
    bob = await sio_on(workers, 1, [transport], login(workers, "bob")["access_token"])
    heard: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    bob.on("chat_message", lambda data: heard.put_nowait(("chat_message", data)),
           namespace="/chat")
    bob.on("user_joined", lambda data: heard.put_nowait(("user_joined", data)),
           namespace="/chat")
    try:
        assert (await bob.call("join", {"room": "across"}, namespace="/chat",
                               timeout=5))["room"] == "across"
        await alice.call("join", {"room": "across"}, namespace="/chat", timeout=5)
        assert await asyncio.wait_for(heard.get(), 5) == (
            "user_joined", {"room": "across", "user": "alice"})
        ack = await alice.call("chat_message", {"room": "across", "text": "hello bob"},
                               namespace="/chat", timeout=5)
        kind, data = await asyncio.wait_for(heard.get(), 5)
        assert kind == "chat_message" and data["text"] == "hello bob"
        assert data["id"] == ack["id"] and data["user"] == "alice"
    finally:
        for client in (alice, bob):
            await client.eio.disconnect(abort=True)


async def test_document_versions_strictly_increase_whichever_worker_assigns_them(workers):
    token = login(workers, "carol")["access_token"]
    clients = [await sio_on(workers, n, ["websocket"], token, ("/collab",)) for n in (0, 1)]
    try:
        for client in clients:
            await client.call("join", {"documentId": "shared"}, namespace="/collab", timeout=5)
        acks = await asyncio.gather(*(
            clients[i % 2].call("doc_change", {"documentId": "shared", "operation": i},
                                namespace="/collab", timeout=5)
            for i in range(20)))
        assert sorted(a["version"] for a in acks) == list(range(1, 21))
    finally:
        for client in clients:
            await client.eio.disconnect(abort=True)


async def test_long_polling_sticks_to_its_worker_over_many_polls(workers):
    """Each poll is a request of its own; every one must reach the worker owning the session
    (a wrong one answers 400 and the session ends)."""
    clients = [await sio_on(workers, n, ["polling"], namespaces=("/",)) for n in (0, 1, 0, 1)]
    try:
        for _round in range(15):
            answers = await asyncio.gather(*(
                c.call("echo", {"round": _round, "worker": sio_worker(c)}, timeout=5)
                for c in clients))
            assert answers == [{"round": _round, "worker": sio_worker(c)} for c in clients]
        assert all(c.connected and c.transport() == "polling" for c in clients)
    finally:
        for client in clients:
            await client.eio.disconnect(abort=True)


async def test_a_poll_sent_on_another_workers_connection_is_redirected_to_its_owner(workers):
    """A pool that shares one kept-alive connection between sessions of two workers (a
    browser's does): the misrouted poll gets a 307 and arrives on a new connection."""
    url = workers.http_url("/socket.io/")
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as shared:
        first = await shared.get(url, params={"EIO": "4", "transport": "polling"})
        here = int(first.headers["x-rtlab-worker"])
        sid_here = json.loads(first.text[1:])["sid"]
        assert sid_here.startswith(worker_sid(here, ""))
        other = None
        for _ in range(TRIES):
            async with httpx.AsyncClient() as fresh:
                answer = await fresh.get(url, params={"EIO": "4", "transport": "polling"})
            if int(answer.headers["x-rtlab-worker"]) != here:
                other = json.loads(answer.text[1:])["sid"]
                break
        assert other is not None
        # The shared connection is the first worker's; this poll belongs to the other.
        poll = await shared.post(url, params={"EIO": "4", "transport": "polling", "sid": other},
                                 content=b"40", follow_redirects=True)
        assert [r.status_code for r in poll.history] == [307]
        assert poll.status_code == 200 and poll.text == "OK"  # Engine.IO's answer to a POST
        assert int(poll.headers["x-rtlab-worker"]) != here


async def test_a_request_line_that_arrives_in_pieces_still_reaches_the_sessions_worker(workers):
    """The master waits for the whole request line before it routes: a poll whose session id
    is cut in two on the wire still reaches the worker that owns the session."""
    async def handshake() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(workers.http_url("/socket.io/"),
                                    params={"EIO": "4", "transport": "polling"})

    for n in (0, 1):
        answer = await on_worker(n, handshake, lambda r: int(r.headers["x-rtlab-worker"]),
                                 noop)
        sid = json.loads(answer.text[1:])["sid"]
        request = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                   "Connection: close\r\n\r\n40").encode()  # a poll's POST answers at once
        cut = request.index(b"sid=") + 6  # inside the worker's number and its dash
        reader, writer = await asyncio.open_connection("127.0.0.1", workers.port)
        writer.write(request[:cut])
        await writer.drain()
        await asyncio.sleep(0.05)  # the rest comes later, as from a slow client
        writer.write(request[cut:])
        async with asyncio.timeout(5):
            reply = await reader.read()
        writer.close()
        assert reply.startswith(b"HTTP/1.1 200") and b"\r\nOK\r\n" in reply, reply
        assert f"x-rtlab-worker: {n}".encode() in reply


# -- SSE ---------------------------------------------------------------------------------------
class SSE:
    """A raw text/event-stream reader (ids and data), enough to compare bytes."""

    def __init__(self, response: httpx.Response, client: httpx.AsyncClient) -> None:
        self.response, self.client = response, client
        self.worker = int(response.headers["x-rtlab-worker"])
        self.lines = response.aiter_lines()

    async def events(self, n: int, timeout: float = 10.0) -> list[tuple[int, str, str]]:
        """The next ``n`` events that carry an id and data: (id, event, data)."""
        out: list[tuple[int, str, str]] = []
        block: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while len(out) < n:
                line = await anext(self.lines)
                if line:
                    key, _, value = line.partition(":")
                    block[key] = value.lstrip(" ")
                    continue
                if "id" in block and "data" in block:
                    out.append((int(block["id"]), block.get("event", ""), block["data"]))
                block = {}
        return out

    async def close(self) -> None:
        await self.response.aclose()
        await self.client.aclose()


async def sse_on(server, n: int, path: str, last_event_id: int | None = None) -> SSE:
    async def connect() -> SSE:
        client = httpx.AsyncClient(timeout=10)
        headers = {} if last_event_id is None else {"last-event-id": str(last_event_id)}
        request = client.build_request("GET", server.http_url(path), headers=headers)
        return SSE(await client.send(request, stream=True), client)

    return await on_worker(n, connect, lambda s: s.worker, lambda s: s.close())


async def test_an_sse_event_is_the_same_event_on_both_workers(workers):
    """One publisher per feed: both workers send event n with the same bytes."""
    path = "/sse/news?interval=0.05"
    a, b = await sse_on(workers, 0, path), await sse_on(workers, 1, path)
    try:
        got_a, got_b = await asyncio.gather(a.events(10), b.events(10))
        shared = {i for i, _e, _d in got_a} & {i for i, _e, _d in got_b}
        assert len(shared) >= 5, (got_a, got_b)
        by_id_a = {i: d for i, _e, d in got_a}
        assert all(by_id_a[i] == d for i, _e, d in got_b if i in shared)
        assert all(e == "news" for _i, e, _d in got_a + got_b)
    finally:
        await a.close()
        await b.close()


async def test_an_sse_client_resuming_on_the_other_worker_misses_nothing(workers):
    path = "/sse/ticker?interval=0.02"
    first = await sse_on(workers, 0, path)
    try:
        before = await first.events(5)
    finally:
        await first.close()
    last = before[-1][0]
    await asyncio.sleep(0.3)  # events go on meanwhile: the resume must replay them
    again = await sse_on(workers, 1, path, last_event_id=last)
    try:
        after = await again.events(25)
    finally:
        await again.close()
    assert [e for _i, e, _d in after] == ["tick"] * 25  # no reset
    ids = [i for i, _e, _d in before + after]
    assert ids == list(range(ids[0], ids[0] + len(ids))), ids


async def test_when_the_publishing_worker_dies_another_takes_over_with_no_gap(workers):
    """The first worker asked for a feed publishes it; killed, it loses the feed's lock and
    the other worker publishes every event due since, with the same ids."""
    path = "/sse/ticker?interval=0.05"
    publisher = await sse_on(workers, 1, path)
    await publisher.events(2)  # worker 1 holds the lock now: nobody else asked before
    reader = await sse_on(workers, 0, path)
    try:
        before = await reader.events(3)
        await publisher.close()
        os.kill(worker_pids(workers.pid)[1], 9)
        after = await reader.events(60, timeout=15)  # 3 s of events: the lock expires in 2
    finally:
        await reader.close()
    assert [e for _i, e, _d in after] == ["tick"] * 60
    ids = [i for i, _e, _d in before + after]
    assert ids == list(range(ids[0], ids[0] + len(ids))), ids


# -- GraphQL subscriptions ---------------------------------------------------------------------
SUBSCRIBE = ("subscription($room: ID!) { messageReceived(chatRoomId: $room) "
             "{ id content sender { username } } }")
SEND = ("mutation($room: ID!, $text: String!) { sendMessage(chatRoomId: $room, content: $text) "
        "{ id } }")
SUBSCRIBERS = "query($room: ID!) { chatRoom(id: $room) { subscribers } }"


async def graphql_post(server, n: int, query: str, variables: dict[str, Any],
                       token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}

    async def post() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(server.http_url("/graphql"), headers=headers,
                                     json={"query": query, "variables": variables})

    answer = await on_worker(n, post, lambda r: int(r.headers["x-rtlab-worker"]), noop)
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_graphql_subscription_event_reaches_a_subscriber_on_the_other_worker(workers):
    ws = await ws_on(workers, 1, "/graphql", subprotocols=["graphql-transport-ws"])
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "s1", "type": "subscribe", "payload": {
            "query": SUBSCRIBE, "variables": {"room": "across"}}}))
        for _ in range(TRIES):  # counted on every worker: asked of worker 0
            data = await graphql_post(workers, 0, SUBSCRIBERS, {"room": "across"})
            if data["chatRoom"]["subscribers"] == 1:
                break
        assert data["chatRoom"]["subscribers"] == 1
        token = login(workers, "bob")["access_token"]
        sent = await graphql_post(workers, 0, SEND, {"room": "across", "text": "from 0"}, token)
        async with asyncio.timeout(5):
            message = json.loads(await ws.recv())
        assert message["type"] == "next" and message["id"] == "s1"
        got = message["payload"]["data"]["messageReceived"]
        assert got == {"id": sent["sendMessage"]["id"], "content": "from 0",
                       "sender": {"username": "bob"}}
    finally:
        await ws.close()


async def test_records_made_on_different_workers_get_different_ids(workers):
    token = login(workers, "alice")["access_token"]
    ids = [(await graphql_post(workers, n, SEND, {"room": "ids", "text": f"w{n}"}, token)
            )["sendMessage"]["id"] for n in (0, 1, 0, 1)]
    assert len(set(ids)) == 4, ids


# -- auth --------------------------------------------------------------------------------------
async def test_login_on_one_worker_refresh_on_the_other_once(workers):
    async def post(n: int, path: str, body: dict[str, Any]) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.post(workers.http_url(path), json=body)
        return await on_worker(n, send, lambda r: int(r.headers["x-rtlab-worker"]), noop)

    pair = (await post(0, "/auth/login", {"username": "carol", "password": "password"})).json()
    again = await post(1, "/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200
    rotated = again.json()
    # the access token of either worker is honoured by the other
    for n, token in ((1, pair["access_token"]), (0, rotated["access_token"])):
        async def me(token: str = token) -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.get(workers.http_url("/auth/me"),
                                        headers={"authorization": f"Bearer {token}"})
        answer = await on_worker(n, me, lambda r: int(r.headers["x-rtlab-worker"]), noop)
        assert answer.status_code == 200 and answer.json()["username"] == "carol"
    # single use, wherever the second try lands
    for n in (0, 1):
        reused = await post(n, "/auth/refresh", {"refresh_token": pair["refresh_token"]})
        assert reused.status_code == 401


# -- chaos -------------------------------------------------------------------------------------
async def test_a_chaos_drop_answered_by_one_worker_cuts_links_on_every_worker(workers):
    """Each worker runs the chaos transport wrapper, and an operation answered by one worker
    is relayed to the others: /_chaos/drop sent to worker 1 cuts worker 0's link too."""
    links = [await ws_on(workers, 0, "/ws/echo"), await ws_on(workers, 1, "/ws/echo")]

    async def probe() -> tuple[httpx.AsyncClient, httpx.Response]:
        client = httpx.AsyncClient()  # its one kept-alive connection stays on one worker
        return client, await client.get(workers.http_url("/"))

    async def close(pair: tuple[httpx.AsyncClient, httpx.Response]) -> None:
        await pair[0].aclose()

    client, _ = await on_worker(1, probe, lambda p: int(p[1].headers["x-rtlab-worker"]), close)
    try:
        answer = await client.post(workers.http_url("/_chaos/drop"), json={"protocol": "ws"})
    finally:
        await client.aclose()
    assert answer.headers["x-rtlab-worker"] == "1" and answer.json()["dropped"] == 1
    for ws in links:
        async with asyncio.timeout(5):
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()


# -- classroom mode on workers ------------------------------------------------------------------
JOIN = "join-token-for-scaleout"


async def test_a_classroom_on_workers_shares_its_tokens_and_limits(launch_server, redis_server,
                                                                   tmp_path):
    """The instructor token is random (drawn once, by the master) and works on both workers;
    a student's connections are counted across workers: the fourth (of 3 allowed), wherever
    it lands, is refused with the classroom's answer; a student's chaos breaks their links
    on both workers."""
    token_file = tmp_path / "instructor-token"
    server = launch_server(extra_args=(
        "--workers", "2", "--broker", redis_server.url, "--classroom", "--no-qr",
        "--join-token", JOIN, "--instructor-file", str(token_file),
        "--client-connections", "3"))
    async with asyncio.timeout(5):  # written right after the ready line
        while not token_file.exists() or not token_file.read_text().strip():
            await asyncio.sleep(0.02)
    teach = token_file.read_text().strip()

    async def stats() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(server.http_url(
                f"/_classroom/stats?join={teach}&client=instructor"))

    for n in (0, 1):
        answer = await on_worker(n, stats, lambda r: int(r.headers["x-rtlab-worker"]), noop)
        assert answer.status_code == 200, answer.text

    path = f"/ws/echo?join={JOIN}&client=ada"
    kept = [await ws_on(server, n, path) for n in (0, 1, 0)]
    try:
        for n in (0, 1):
            fourth = await ws_on(server, n, path)
            async with asyncio.timeout(5):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await fourth.recv()
            assert closed.value.rcvd.code == 1008 and "connections open" in closed.value.rcvd.reason
        # a student's own chaos reaches their links on every worker, and nobody else's
        bea = [await ws_on(server, n, f"/ws/echo?join={JOIN}&client=bea") for n in (0, 1)]
        async with httpx.AsyncClient() as http:
            answer = await http.post(server.http_url(f"/_chaos/drop?join={JOIN}&client=bea"),
                                     json={"protocol": "ws"})
        assert answer.status_code == 200 and answer.json()["dropped"] == 1
        for ws in bea:
            async with asyncio.timeout(5):
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
        for ws in kept:
            await ws.send(json.dumps({"type": "echo", "payload": "ada"}))
            assert json.loads(await ws.recv())["payload"] == "ada"
    finally:
        for ws in kept:
            await ws.close()


async def test_on_workers_a_students_short_tokens_and_subscriber_count_stay_theirs(
        launch_server, redis_server, tmp_path):
    """``?token_ttl=`` travels with each request, so a login on one worker and a refresh on the
    other both honour it; ``chatRoom.subscribers`` counts the asking student's subscriptions
    on every worker (ada: one on each, bea: one)."""
    server = launch_server(extra_args=(
        "--workers", "2", "--broker", redis_server.url, "--classroom", "--no-qr",
        "--join-token", JOIN, "--instructor-file", str(tmp_path / "instructor-token")))

    def as_(client: str, path: str, extra: str = "") -> str:
        sep = "&" if "?" in path else "?"
        return f"{path}{sep}join={JOIN}&client={client}{extra}"

    async def post(n: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.post(server.http_url(path), json=body)

        answer = await on_worker(n, send, lambda r: int(r.headers["x-rtlab-worker"]), noop)
        assert answer.status_code == 200, answer.text
        return answer.json()

    short = as_("ada", "/auth/login", "&token_ttl=2")
    pair = await post(0, short, {"username": "alice", "password": "password"})
    again = await post(1, as_("ada", "/auth/refresh", "&token_ttl=2"),
                       {"refresh_token": pair["refresh_token"]})
    assert (pair["expires_in"], again["expires_in"]) == (2, 2)

    sockets = []
    try:
        for n, client in ((0, "ada"), (1, "ada"), (1, "bea")):
            ws = await ws_on(server, n, as_(client, "/graphql"),
                             subprotocols=["graphql-transport-ws"])
            sockets.append(ws)
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
                "query": SUBSCRIBE, "variables": {"room": "ours"}}}))

        async def count(client: str) -> int:
            answer = await post(0, as_(client, "/graphql"),
                                {"query": SUBSCRIBERS, "variables": {"room": "ours"}})
            return answer["data"]["chatRoom"]["subscribers"]

        async with asyncio.timeout(5):  # registered a moment after each subscribe
            while (await count("ada"), await count("bea")) != (2, 1):
                await asyncio.sleep(0.05)
    finally:
        for ws in sockets:
            await ws.close()


# -- a worker dies -----------------------------------------------------------------------------
async def test_killing_a_worker_loses_no_client_of_the_other(workers):
    survivor = await ws_on(workers, 0, "/ws/echo")
    doomed = await ws_on(workers, 1, "/ws/echo")
    pids = worker_pids(workers.pid)
    assert set(pids) == {0, 1}
    os.kill(pids[1], 9)
    async with asyncio.timeout(5):
        with pytest.raises(websockets.ConnectionClosed):
            await doomed.recv()
    for n in range(20):  # the other worker's client never notices
        await survivor.send(json.dumps({"type": "echo", "payload": n}))
        assert json.loads(await survivor.recv())["payload"] == n
    # the master says so and starts worker 1 again; new connections reach it
    await log_says(workers, "worker 1 serves again")
    assert "worker 1" in workers.log_text() and "starting it again" in workers.log_text()
    replacement = await ws_on(workers, 1, "/ws/echo")
    await replacement.send(json.dumps({"type": "echo", "payload": "back"}))
    assert json.loads(await replacement.recv())["payload"] == "back"
    assert worker_pids(workers.pid)[1] != pids[1]
    await survivor.send(json.dumps({"type": "echo", "payload": "still"}))
    assert json.loads(await survivor.recv())["payload"] == "still"
    for ws in (survivor, replacement):
        await ws.close()


def test_more_than_one_worker_without_a_broker_is_refused_clearly():
    done = subprocess.run([sys.executable, "-m", "servers", "--port", "0", "--workers", "2"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--workers 2 needs --broker redis://HOST:PORT" in done.stderr
    assert done.stdout == ""


async def test_classroom_counters_in_redis_add_up_across_workers(redis_server):
    """The classroom limits' counters: two workers take from one token bucket per client; a
    gauge sums the workers' shares, and a worker started again drops its predecessor's."""
    from servers.broker import Broker

    now = [1000.25]
    brokers = [Broker(redis_server.url, worker=n, workers=2) for n in (0, 1)]
    try:
        a, b = (broker.counters() for broker in brokers)
        a.clock = b.clock = lambda: now[0]
        assert [await a.take("ada", 2.0, 2), await b.take("ada", 2.0, 2)] == [0.0, 0.0]
        assert await a.take("ada", 2.0, 2) == pytest.approx(0.5)  # the bucket both emptied
        assert await b.take("bob", 2.0, 2) == 0.0
        now[0] += 0.5  # one more refilled, for both workers
        assert [await b.take("ada", 2.0, 2), await a.take("ada", 2.0, 2) > 0] == [0.0, True]
        assert [await a.adjust("conn", 1), await b.adjust("conn", 1),
                await b.adjust("conn", 1), await a.adjust("conn", 1),
                await a.adjust("conn", -1)] == [1, 2, 3, 4, 3]
        restarted = Broker(redis_server.url, worker=1, workers=2).counters()
        assert await restarted.adjust("conn", 0) == 1  # worker 1's two went with it
        await restarted.redis.aclose()
        seq = brokers[0].sequences(), brokers[1].sequences()
        assert [await seq[0].next("doc"), await seq[1].next("doc"),
                await seq[0].current("doc")] == [1, 2, 2]
    finally:
        for broker in brokers:
            await broker.redis.aclose()
