"""WS /graphql against the real server process: both subprotocols, the chapter's subscription
documents streaming, auth and close codes (4403/4400/4408), presence, 100 subscriptions on one
connection, a slow consumer that cannot stall the others, and chaos reaching the sockets."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from pathlib import Path

import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import connect

_spec = importlib.util.spec_from_file_location(
    "graphql_support", Path(__file__).with_name("graphql_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
from rtlab.chapter import documents as chapter  # noqa: E402

PROTOCOLS = [support.TRANSPORT_WS, support.LEGACY_WS]


def ws_transport(server, token: str | None = None, subprotocol: str | None = None):
    return WebsocketsTransport(
        url=server.ws_url("/graphql"),
        init_payload={"Authorization": f"Bearer {token}"} if token else {},
        subprotocols=[subprotocol] if subprotocol else None,
        close_timeout=1,
    )


async def first_event(session, document: str, variables=None, trigger=None, timeout=5.0):
    """Subscribe and return the first event; ``trigger()`` is called repeatedly until it
    arrives (a subscription is live on the server only some time after ``subscribe`` is
    sent, and nothing tells the client when: so the trigger repeats, the test never sleeps
    blind)."""
    stream = session.subscribe(GraphQLRequest(document, variable_values=variables))
    first = asyncio.ensure_future(anext(stream))
    try:
        async with asyncio.timeout(timeout):
            while not first.done():
                if trigger is not None:
                    await trigger()
                await asyncio.wait({first}, timeout=0.1)
        return first.result()
    finally:
        first.cancel()
        with contextlib.suppress(BaseException):
            await stream.aclose()


# -- the chapter's subscription documents stream, over both subprotocols -------------------------
@pytest.mark.parametrize("subprotocol", PROTOCOLS)
async def test_on_new_message_streams_what_send_message_sends(shared_server, subprotocol) -> None:
    token = support.login(shared_server, "bob")
    room = f"room-{subprotocol}"
    transport = ws_transport(shared_server, subprotocol=subprotocol)  # anonymous: it is public
    async with Client(transport=transport) as session:
        assert transport.subprotocol == subprotocol
        event = await first_event(
            session, chapter.ON_NEW_MESSAGE, {"chatRoomId": room},
            trigger=lambda: support.send_message(shared_server, token, room, "hello there"),
        )
    message = event["messageReceived"]
    assert message["content"] == "hello there" and message["attachments"] == []
    assert message["sender"] == {"id": "2", "name": "Bob Brown",
                                 "avatar": "https://example.com/avatars/bob.png"}


async def test_gql_picks_legacy_graphql_ws_unless_told(shared_server) -> None:
    transport = ws_transport(shared_server)
    async with Client(transport=transport) as session:
        assert transport.subprotocol == support.LEGACY_WS
        data = await session.execute(GraphQLRequest(chapter.GET_USER,
                                                    variable_values={"userId": "3"}))
    assert data["user"]["name"] == "Carol Chen"  # queries run over the socket too


@pytest.mark.parametrize("document", [chapter.ON_NEW_NOTIFICATION,
                                      chapter.NOTIFICATIONS_ANONYMOUS])
async def test_notifications_stream_to_the_signed_in_user(lab_server, document) -> None:
    alice, bob = support.login(lab_server, "alice"), support.login(lab_server, "bob")
    create = "mutation($t: String!) { createPost(input: {title: $t, content: \"x\"}) { id } }"

    async def bob_posts() -> None:
        r = await support.post(lab_server, create, {"t": "news from bob"}, bob)
        assert "errors" not in r.json()

    async with Client(transport=ws_transport(lab_server, alice, support.TRANSPORT_WS)) as s:
        event = await first_event(s, document, trigger=bob_posts)
    note = event["notificationReceived"]
    assert "news from bob" in note["message"] and note["id"]
    if "type" in note:
        assert note["type"] == "NEW_POST" and note["read"] is False
        assert note["metadata"]["actionUrl"].startswith("/posts/")


async def test_post_created_streams_new_posts(lab_server) -> None:
    token = support.login(lab_server, "carol")
    created: list[str] = []

    async def create() -> None:
        r = await support.post(lab_server, chapter.CREATE_POST,
                               {"input": {"title": "live", "content": "post"}}, token)
        created.append(r.json()["data"]["createPost"]["id"])

    async with Client(transport=ws_transport(lab_server, None, support.TRANSPORT_WS)) as s:
        event = await first_event(s, "subscription { postCreated { id title author { id } } }",
                                  trigger=create)
    assert event["postCreated"]["id"] in created
    assert event["postCreated"]["author"] == {"id": "3"}


@pytest.mark.parametrize("subprotocol", PROTOCOLS)
async def test_presence_counts_connects_and_disconnects(lab_server, subprotocol) -> None:
    token = support.login(lab_server, "bob")
    async with support.ws_session(lab_server, subprotocol) as watcher:
        await support.subscribe(watcher, "p", chapter.PRESENCE_ANONYMOUS)

        async def bob_comes_and_goes() -> None:
            async with support.ws_session(lab_server, support.TRANSPORT_WS,
                                          {"Authorization": f"Bearer {token}"}):
                pass

        events: list[dict] = []
        async with asyncio.timeout(5):
            while not any(e["userId"] == "2" and e["status"] == "OFFLINE" for e in events):
                task = asyncio.ensure_future(bob_comes_and_goes())
                with contextlib.suppress(TimeoutError):
                    while True:
                        frame = await support.next_data(watcher, timeout=0.3)
                        events.append(frame["payload"]["data"]["userPresenceUpdated"])
                await task
    bob = [e["status"] for e in events if e["userId"] == "2"]
    assert bob[bob.index("ONLINE"):][:2] == ["ONLINE", "OFFLINE"]


# -- auth on the socket -------------------------------------------------------------------------
@pytest.mark.parametrize("subprotocol", PROTOCOLS)
async def test_protected_subscription_without_token_closes_4403(shared_server, subprotocol):
    async with support.ws_session(shared_server, subprotocol) as ws:
        await support.subscribe(ws, "n", chapter.ON_NEW_NOTIFICATION)
        code, reason = await support.close_code(ws)
    assert code == 4403 and "notificationReceived" in reason and "missing" in reason


@pytest.mark.parametrize("subprotocol", PROTOCOLS)
async def test_forged_token_in_connection_init_closes_4403(shared_server, subprotocol) -> None:
    forged = support.login(shared_server, "alice")[:-4] + "AAAA"
    async with support.ws_session(shared_server, subprotocol,
                                  {"Authorization": f"Bearer {forged}"}, ack=False) as ws:
        code, reason = await support.close_code(ws)
    assert code == 4403 and "invalid token" in reason


async def test_token_expiry_closes_a_live_subscription_with_4403(launch_server) -> None:
    server = launch_server(token_ttl=1)
    token = support.login(server, "alice")
    async with support.ws_session(server, support.TRANSPORT_WS,
                                  {"Authorization": f"Bearer {token}"}) as ws:
        await support.subscribe(ws, "n", chapter.ON_NEW_NOTIFICATION)
        code, reason = await support.close_code(ws, timeout=5)
    # Expired while live ("Forbidden: token expired") or, on a slow machine, already
    # expired when the subscription started: either way 4403, naming the expiry.
    assert code == 4403 and reason.startswith("Forbidden") and "token expired" in reason


async def test_gql_sees_the_4403(shared_server) -> None:
    transport = ws_transport(shared_server, "forged.token.here", support.TRANSPORT_WS)
    with pytest.raises(Exception) as info:
        async with Client(transport=transport):
            pass
    causes, exc = [], info.value
    while exc is not None:
        causes.append(exc)
        exc = exc.__cause__ or exc.__context__
    codes = [getattr(getattr(c, "rcvd", None), "code", None) for c in causes]
    assert 4403 in codes, causes


# -- malformed messages and the init timeout -----------------------------------------------------
@pytest.mark.parametrize("subprotocol", PROTOCOLS)
@pytest.mark.parametrize("frame", [
    "not json", "[1, 2]", '{"no": "type"}', '{"type": "subscribe", "id": "1"}',
    '{"type": "start", "id": "1", "payload": []}',
])
async def test_malformed_messages_close_4400(shared_server, subprotocol, frame) -> None:
    kind = "subscribe" if subprotocol == support.TRANSPORT_WS else "start"
    frame = frame.replace('"subscribe"', f'"{kind}"').replace('"start"', f'"{kind}"')
    async with support.ws_session(shared_server, subprotocol) as ws:
        await ws.send(frame)
        code, reason = await support.close_code(ws)
    assert code == 4400 and reason


async def test_no_connection_init_in_time_closes_4408(shared_server) -> None:
    async def silent(subprotocol: str):
        async with connect(shared_server.ws_url("/graphql"), subprotocols=[subprotocol]) as ws:
            return await support.close_code(ws, timeout=6)

    results = await asyncio.gather(*(silent(p) for p in PROTOCOLS))
    assert [code for code, _reason in results] == [4408, 4408]


# -- capacity -------------------------------------------------------------------------------------
async def test_hundred_subscriptions_on_one_connection(lab_server) -> None:
    token = support.login(lab_server, "alice")
    async with support.ws_session(lab_server, support.TRANSPORT_WS) as ws:
        for i in range(100):
            await support.subscribe(ws, f"s{i}", chapter.ON_NEW_MESSAGE,
                                    {"chatRoomId": "hundred"})
        seen: dict[str, list[str]] = {f"s{i}": [] for i in range(100)}
        async with asyncio.timeout(10):
            n = 0
            while not all(seen.values()):  # warm-up until every subscription is live
                n += 1
                await support.send_message(lab_server, token, "hundred", f"warm-up {n}")
                with contextlib.suppress(TimeoutError):
                    while True:
                        frame = await support.next_data(ws, timeout=0.2)
                        seen[frame["id"]].append(frame["payload"]["data"]["messageReceived"]
                                                 ["content"])
            await support.send_message(lab_server, token, "hundred", "final")
            final: set[str] = set()
            while len(final) < 100:
                frame = await support.next_data(ws)
                if frame["payload"]["data"]["messageReceived"]["content"] == "final":
                    assert frame["id"] not in final
                    final.add(frame["id"])
    assert final == set(seen)


async def test_a_client_that_reads_nothing_does_not_hold_up_the_others(lab_server) -> None:
    """Fan-out never waits on a subscriber (the eviction of one that overflows its queue is
    proven on :class:`LocalPubSub` in tests/unit/test_graphql_pubsub.py)."""
    token = support.login(lab_server, "alice")
    room, count = "firehose", 200
    mutation = 'mutation($t: String!) { sendMessage(chatRoomId: "firehose", content: $t) { id } }'
    async with connect(lab_server.ws_url("/graphql"), subprotocols=[support.TRANSPORT_WS],
                       max_queue=1, close_timeout=1) as idle, \
            support.ws_session(lab_server) as fast:
        await idle.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await idle.recv())["type"] == "connection_ack"
        await support.subscribe(idle, "idle", chapter.ON_NEW_MESSAGE, {"chatRoomId": room})
        await support.subscribe(fast, "fast", chapter.ON_NEW_MESSAGE, {"chatRoomId": room})
        async with asyncio.timeout(5):  # live: the fast one sees a probe
            while True:
                await support.send_message(lab_server, token, room, "probe")
                with contextlib.suppress(TimeoutError):
                    await support.next_data(fast, timeout=0.2)
                    break
        batch = [{"query": mutation, "variables": {"t": f"#{i} " + "x" * 4000}}
                 for i in range(count)]
        for start in range(0, count, 20):  # the idle client reads nothing meanwhile
            async with support.httpx.AsyncClient(timeout=10) as http:
                r = await http.post(lab_server.http_url("/graphql"), json=batch[start:start + 20],
                                    headers=support.bearer(token))
            assert all("errors" not in item for item in r.json())
        got: list[int] = []
        async with asyncio.timeout(10):
            while len(got) < count:
                content = (await support.next_data(fast))["payload"]["data"]["messageReceived"][
                    "content"]
                if content.startswith("#"):
                    got.append(int(content[1:].split()[0]))
    assert got == list(range(count))  # everything, in order


# -- chaos reaches the GraphQL sockets ----------------------------------------------------------
async def test_chaos_drop_and_freeze_reach_graphql_websockets(lab_server) -> None:
    token = support.login(lab_server, "bob")
    async with support.ws_session(lab_server) as ws:
        await support.subscribe(ws, "m", chapter.ON_NEW_MESSAGE, {"chatRoomId": "chaos"})
        async with asyncio.timeout(5):
            while True:
                await support.send_message(lab_server, token, "chaos", "probe")
                with contextlib.suppress(TimeoutError):
                    await support.next_data(ws, timeout=0.2)
                    break
        stats = await lab_server.chaos.astats()
        assert stats["graphql"] >= 1
        frozen = await lab_server.chaos.afreeze()
        assert frozen["connections"] >= 1
        await support.send_message(lab_server, token, "chaos", "while frozen")
        with pytest.raises(TimeoutError):
            await support.next_data(ws, timeout=0.5)  # held back by the frozen link
        await lab_server.chaos.athaw()
        frame = await support.next_data(ws)
        assert frame["payload"]["data"]["messageReceived"]["content"] == "while frozen"
        dropped = await lab_server.chaos.adrop(protocol="graphql", mode="abort")
        assert dropped["dropped"] >= 1
        code, _reason = await support.close_code(ws)
    assert code == 1006
