"""``rtlab.graphql.ws.WebSocketLink`` against the real server process: resubscribe exactly
once after a chaos drop and after kill + restart (counted by the server), token expiry
mid-stream (4403 → refresh → resubscribe), a bad token ending with a clear error after one
refresh, 100 subscriptions on one connection, a frozen server noticed within the keep-alive
bound, and subscription events reaching the normalized cache."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import pytest

from rtlab.auth import TokenManager
from rtlab.backoff import Constant
from rtlab.errors import SubscriptionRefused
from rtlab.graphql import GraphQLClient, HttpLink, NormalizedCache, is_subscription, split
from rtlab.graphql.links import Operation
from rtlab.graphql.ws import LEGACY_WS, TRANSPORT_WS, AuthenticationFailed, WebSocketLink
from rtlab.state import ConnectionState
from rtlab.waiting import until, until_state

_spec = importlib.util.spec_from_file_location(
    "graphql_support", Path(__file__).with_name("graphql_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

ROOM_SUB = """subscription OnNewMessage($chatRoomId: ID!) {
  messageReceived(chatRoomId: $chatRoomId) { id content sender { id name } }
}"""
NOTES_SUB = "subscription { notificationReceived { id type message } }"
RENAME = "mutation Rename($name: String) { updateUser(input: {name: $name}) { id name } }"
SUBSCRIBERS = "query Subs($id: ID!) { chatRoom(id: $id) { subscribers } }"


def room_op(room: str) -> Operation:
    return Operation.of(ROOM_SUB, {"chatRoomId": room})


async def subscribers(server, room: str) -> int:
    body = (await support.post(server, SUBSCRIBERS, {"id": room})).json()
    return body["data"]["chatRoom"]["subscribers"]


async def until_subscribers(server, room: str, n: int, timeout: float = 5.0) -> None:
    """The server's own count of live subscriptions to ``room`` reaches ``n`` (it lags the
    client's ``subscribe`` by a loop turn or two: nothing in the protocol acknowledges it)."""
    deadline = time.monotonic() + timeout
    while (count := await subscribers(server, room)) != n:
        assert time.monotonic() < deadline, f"{room}: {count} subscribers, wanted {n}"
        await asyncio.sleep(0.02)


async def contents(sub, n: int, timeout: float = 5.0) -> list[str]:
    return [(await asyncio.wait_for(sub.next(), timeout)).data["messageReceived"]["content"]
            for _ in range(n)]


def fast_link(server, **options) -> WebSocketLink:
    defaults = dict(policy=Constant(0.1), heartbeat_interval=0.5, heartbeat_timeout=0.5)
    return WebSocketLink(server.ws_url("/graphql"), **{**defaults, **options})


# -- resubscribe exactly once ---------------------------------------------------------------------
@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
async def test_chaos_drop_resubscribes_every_subscription_once(lab_server, subprotocol) -> None:
    token = support.login(lab_server, "bob")
    async with fast_link(lab_server, subprotocol=subprotocol) as link:
        a, b = link.subscribe(room_op("drop-a")), link.subscribe(room_op("drop-b"))
        await a.wait_live()
        await b.wait_live()
        await until_subscribers(lab_server, "drop-a", 1)
        await until_subscribers(lab_server, "drop-b", 1)
        await support.send_message(lab_server, token, "drop-a", "before")
        assert await contents(a, 1) == ["before"]

        dropped = await lab_server.chaos.adrop(protocol="graphql")
        assert dropped["dropped"] >= 1, dropped
        await until(link.timeline, lambda _t: link.connections == 2, timeout=5)
        await a.wait_live()
        await b.wait_live()
        await until_subscribers(lab_server, "drop-a", 1)
        await until_subscribers(lab_server, "drop-b", 1)
        for text in ("after-1", "after-2"):
            await support.send_message(lab_server, token, "drop-a", text)
        await support.send_message(lab_server, token, "drop-b", "b-after")
        assert await contents(a, 2) == ["after-1", "after-2"]
        assert await contents(b, 1) == ["b-after"]
        assert (a.subscribes, b.subscribes) == (2, 2)
        assert link.resubscriptions == 2 and link.subscriptions == 4
        states = a.timeline.states()
        assert states == ["connecting", "connected", "reconnecting", "connecting", "connected"]
    assert await subscribers(lab_server, "drop-a") == 0  # closing the link completed them


async def test_kill_and_restart_resubscribe_and_the_stream_continues(lab_server) -> None:
    token = support.login(lab_server, "carol")
    async with fast_link(lab_server) as link:
        sub = link.subscribe(room_op("restart"))
        await until_subscribers(lab_server, "restart", 1)
        lab_server.kill()
        await until_state(sub, "reconnecting", timeout=5)
        await until(link.timeline, lambda t: len(t.of_kind("attempt")) >= 2, timeout=5)
        lab_server.restart()
        await until(link.timeline, lambda _t: link.connections == 2, timeout=10)
        await until_subscribers(lab_server, "restart", 1)
        token = support.login(lab_server, "carol")  # a new process: new signing key
        await support.send_message(lab_server, token, "restart", "back again")
        assert await contents(sub, 1) == ["back again"]
        attempts = [e.attempt for e in link.timeline.of_kind("attempt")]
        assert attempts[:2] == [1, 2]
        assert sub.subscribes == 2 and link.resubscriptions == 1


# -- credentials ---------------------------------------------------------------------------------
async def test_token_expiry_mid_stream_refreshes_and_resubscribes(launch_server) -> None:
    server = launch_server(token_ttl=1.5)
    alice = TokenManager(server.url, "alice", margin=0)
    bob = TokenManager(server.url, "bob", margin=0.5)
    async with fast_link(server, init_payload=alice.headers, refresh=alice.refresh) as link:
        notes = link.subscribe(Operation.of(NOTES_SUB))
        room = link.subscribe(room_op("expiry"))
        await notes.wait_live()
        await until_subscribers(server, "expiry", 1)
        first_token = alice.tokens.access_token
        await until(link.timeline, lambda _t: link.connections == 2, timeout=6)
        closes = [e.detail for e in link.timeline.of_kind("note") if e.detail.startswith("closed")]
        assert closes == ["closed with 4403 'Forbidden: token expired'"]
        assert link.refreshes == 1 and alice.tokens.access_token != first_token
        await notes.wait_live()
        await until_subscribers(server, "expiry", 1)
        bob_token = await bob.token()
        await support.send_message(server, bob_token, "expiry", "hi @alice, still there?")
        note = await asyncio.wait_for(notes.next(), 5)
        assert note.data["notificationReceived"]["type"] == "MENTION"
        assert await contents(room, 1) == ["hi @alice, still there?"]
        assert notes.subscribes == 2 and room.subscribes == 2


async def test_bad_token_ends_with_a_clear_error_after_one_refresh(shared_server) -> None:
    calls = []
    forged = {"Authorization": "Bearer not-a-jwt"}
    link = fast_link(shared_server, init_payload=lambda: forged, refresh=lambda: calls.append(1))
    sub = link.subscribe(room_op("forged"))
    with pytest.raises(AuthenticationFailed) as caught:
        await asyncio.wait_for(sub.next(), 5)
    message = str(caught.value)
    assert "closed with 4403" in message and "same credentials" in message, message
    assert calls == [1] and link.connections == 0
    assert sub.state is ConnectionState.ERROR and link.state is ConnectionState.ERROR
    await link.close()


async def test_refreshed_token_refused_too_gives_up_after_that_one_refresh(shared_server) -> None:
    tokens = iter(f"Bearer forged-{n}" for n in range(100))
    current = {"Authorization": next(tokens)}

    def refresh() -> None:
        current["Authorization"] = next(tokens)

    link = fast_link(shared_server, init_payload=lambda: dict(current), refresh=refresh)
    sub = link.subscribe(Operation.of(NOTES_SUB))
    with pytest.raises(AuthenticationFailed, match="refused again after a token refresh"):
        await asyncio.wait_for(sub.next(), 5)
    assert link.refreshes == 1 and current["Authorization"] == "Bearer forged-1"
    await link.close()


async def test_no_refresh_callable_gives_up_at_the_first_4403(shared_server) -> None:
    link = fast_link(shared_server)  # anonymous: notificationReceived needs a signed-in user
    sub = link.subscribe(Operation.of(NOTES_SUB))
    with pytest.raises(AuthenticationFailed, match="closed with 4403 'Forbidden: "):
        await asyncio.wait_for(sub.next(), 5)
    assert link.connections == 1  # acknowledged (anonymous is allowed), then refused
    await link.close()


# -- many subscriptions, independent lifetimes ---------------------------------------------------
async def test_hundred_subscriptions_share_one_connection(shared_server) -> None:
    token = support.login(shared_server, "bob")
    link = fast_link(shared_server, heartbeat_interval=None)
    subs = [link.subscribe(room_op("hundred")) for _ in range(100)]
    for sub in subs:
        await sub.wait_live()
    await until_subscribers(shared_server, "hundred", 100)
    assert link.connections == 1 and link.subscriptions == 100
    await support.send_message(shared_server, token, "hundred", "to all")
    for sub in subs:
        assert await contents(sub, 1) == ["to all"]

    for sub in subs[1:]:
        await sub.cancel()
    await until_subscribers(shared_server, "hundred", 1)
    assert link.state is ConnectionState.CONNECTED
    await support.send_message(shared_server, token, "hundred", "to the last one")
    assert await contents(subs[0], 1) == ["to the last one"]
    assert all(s.state is ConnectionState.DISCONNECTED for s in subs[1:])

    await subs[0].cancel()
    assert link.state is ConnectionState.DISCONNECTED and link._ws is None
    await until_subscribers(shared_server, "hundred", 0)
    assert link._supervisor is None


async def test_a_graphql_error_ends_only_that_subscription(shared_server) -> None:
    async with fast_link(shared_server) as link:
        good = link.subscribe(room_op("errors"))
        bad = link.subscribe(Operation.of("subscription { ticks(count: 1) { nope } }"))
        with pytest.raises(SubscriptionRefused, match="refused by the server: .*nope"):
            await bad.wait_live(timeout=5, settle=5)  # a validation error: `error`
        refused = await asyncio.wait_for(bad.next(), 5)  # still handed to who iterates
        assert "nope" in refused.errors[0]["message"]
        with pytest.raises(StopAsyncIteration):
            await bad.next()
        assert bad.state is ConnectionState.ERROR
        assert bad.events == 0 and not bad.timeline.of_kind("in")  # an error is not an event
        failing = link.subscribe(Operation.of("subscription { ticks(count: -1) { n } }"))
        result = await asyncio.wait_for(failing.next(), 5)  # an execution error: `next`
        assert "count must be from 0" in result.errors[0]["message"]
        with pytest.raises(StopAsyncIteration):
            await failing.next()  # ... then `complete`
        assert failing.state is ConnectionState.DISCONNECTED
        await good.wait_live()
        assert link.state is ConnectionState.CONNECTED


# -- a frozen server -----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["sigstop", "chaos"])
async def test_frozen_server_is_noticed_within_the_heartbeat_bound(lab_server, how) -> None:
    link = fast_link(lab_server, heartbeat_interval=0.4, heartbeat_timeout=0.4)
    sub = link.subscribe(Operation.of("subscription { ticks(count: 100000, interval: 0.05) "
                                      "{ n } }"))
    await sub.wait_live()
    await until(sub.timeline, lambda t: len(t.of_kind("in")) >= 2, timeout=5)
    if how == "sigstop":
        lab_server.freeze()
    else:
        await lab_server.chaos.afreeze()
    frozen_at = time.monotonic()
    try:
        await until_state(link, "reconnecting", timeout=5)
        noticed = time.monotonic() - frozen_at
    finally:
        if how == "sigstop":
            lab_server.thaw()
        else:
            await lab_server.chaos.areset()
    assert link.detection_bound == pytest.approx(0.8)
    assert noticed <= link.detection_bound + 0.3, noticed
    assert any("no pong within 0.4s" in e.detail for e in link.timeline.of_kind("note"))
    await until(link.timeline, lambda _t: link.connections == 2, timeout=10)
    before = sub.events
    await until(sub.timeline, lambda _t: sub.events >= before + 2, timeout=5)  # flowing again
    await link.close()


# -- events reach the normalized cache ----------------------------------------------------------
async def test_subscription_events_update_a_query_view_of_the_same_entity(shared_server) -> None:
    bob = TokenManager(shared_server.url, "bob")
    http = HttpLink(shared_server.http_url("/graphql"))
    ws = fast_link(shared_server)
    client = GraphQLClient(split(is_subscription, ws, http), NormalizedCache())
    view = client.watch_query("query Bob { user(id: \"2\") { id name } }")
    await view.settled()
    original = view.data["user"]["name"]
    appended = []

    def update(cache, result) -> None:
        appended.append(result.data["messageReceived"]["id"])

    sub = client.subscribe(ROOM_SUB, {"chatRoomId": "cache-room"}, update=update, inbox_size=0)
    await sub.wait_live()
    await until_subscribers(shared_server, "cache-room", 1)
    # Bob renames himself with a client the view knows nothing about, then writes a message.
    renamed = "Robert Brown"
    token = await bob.token()
    await support.post(shared_server, RENAME, {"name": renamed}, token=token)
    try:
        await support.send_message(shared_server, token, "cache-room", "call me Robert")
        await until(view.timeline, lambda _t: view.data["user"]["name"] == renamed, timeout=5)
        assert len(appended) == 1 and sub.events == 1
    finally:
        await support.post(shared_server, RENAME, {"name": original}, token=token)
        await client.close()
    assert ws.state is ConnectionState.DISCONNECTED
