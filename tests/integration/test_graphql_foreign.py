"""WebSocketLink against servers that are not ours: a strawberry app with another schema (its
own view, run in the test) and a raw ``websockets`` server that speaks just enough
graphql-transport-ws to close with a chosen code. Close codes that name the client's mistake
stop at once; 4403 refreshes once; a refused ``subscribe`` is not an event and
``wait_live()`` says so; a subscription started right after the previous one completed never
hangs (against strawberry's ``countdown`` and our own ``ticks(count: 3)``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_WS_PROTOCOL
from websockets.asyncio.server import ServerConnection, serve

from rtlab.backoff import Constant
from rtlab.errors import AuthenticationFailed, ConnectionFailed, SubscriptionRefused
from rtlab.graphql.links import Operation
from rtlab.graphql.ws import TRANSPORT_WS, WebSocketLink
from rtlab.state import ATTEMPT, ERROR, FRAME_IN, NOTE, ConnectionState
from rtlab.waiting import until

S = ConnectionState


# -- a strawberry app with another schema ------------------------------------------------------
@strawberry.type
class Query:
    hello: str = "world"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def countdown(self, start: int = 3) -> AsyncGenerator[int, None]:
        for n in range(start, 0, -1):
            yield n

    @strawberry.subscription
    async def beat(self, every: float = 0.05) -> AsyncGenerator[int, None]:
        n = 0
        while True:
            yield n
            n += 1
            await asyncio.sleep(every)


SCHEMA = strawberry.Schema(Query, subscription=Subscription)
COUNTDOWN = "subscription Count($start: Int!) { countdown(start: $start) }"


class Guarded(GraphQL):
    """strawberry's view, refusing (4403) a ``connection_init`` without the right token."""

    async def on_ws_connect(self, context: dict[str, Any]) -> Any:
        if context["connection_params"].get("token") != "good":
            raise ConnectionRejectionError()
        return await super().on_ws_connect(context)


def routed(view: GraphQL) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/graphql", view)])


def link_to(base: str, path: str = "/graphql", **options: Any) -> WebSocketLink:
    options.setdefault("policy", Constant(0.05))
    options.setdefault("heartbeat_interval", None)
    return WebSocketLink(base.replace("http://", "ws://") + path, **options)


async def drain(sub) -> list[Any]:
    return [r.data async for r in sub]


async def test_countdown_works_and_a_new_subscription_at_once_never_hangs(serve_asgi) -> None:
    link = link_to(await serve_asgi(routed(GraphQL(SCHEMA))))

    async def five_in_a_row() -> None:
        for _ in range(5):  # start, let it complete, start the next one at once
            sub = link.subscribe(Operation.of(COUNTDOWN, {"start": 3}))
            assert [d["countdown"] for d in await drain(sub)] == [3, 2, 1]

    await asyncio.wait_for(five_in_a_row(), 10)
    assert link.connections == 1  # each next one reused the socket still open
    await link.close()
    assert link.state is S.DISCONNECTED and link._supervisor is None


async def test_a_refused_subscribe_is_not_an_event_and_wait_live_says_so(serve_asgi) -> None:
    async with link_to(await serve_asgi(routed(GraphQL(SCHEMA)))) as link:
        good = link.subscribe(Operation.of("subscription { beat(every: 0.05) }"))
        bad = link.subscribe(Operation.of("subscription { countdown(begin: 3) }"))
        with pytest.raises(SubscriptionRefused, match="was refused by the server: .*begin"):
            await bad.wait_live(timeout=5, settle=5)
        assert bad.events == 0 and not bad.timeline.of_kind(FRAME_IN)
        assert bad.state is S.ERROR and "begin" in bad.timeline.of_kind(ERROR)[0].detail
        assert isinstance(bad.error, SubscriptionRefused) and bad.refusal.errors
        refused = await asyncio.wait_for(bad.next(), 5)  # still yielded, for who iterates
        assert refused.data is None and "begin" in refused.errors[0]["message"]
        with pytest.raises(StopAsyncIteration):
            await bad.next()
        await good.wait_live(timeout=5)  # the refusal ended only that one
        assert good.events >= 1 and link.state is S.CONNECTED


async def test_an_unknown_operation_name_closes_4400_and_stops_at_once(serve_asgi) -> None:
    link = link_to(await serve_asgi(routed(GraphQL(SCHEMA))))
    sub = link.subscribe(Operation.of(COUNTDOWN, {"start": 3}, operation_name="Countdown"))
    with pytest.raises(ConnectionFailed, match="closed with 4400 .*not retried"):
        await asyncio.wait_for(sub.next(), 5)
    assert link.state is S.ERROR and link.connections == 1
    assert not link.timeline.of_kind(ATTEMPT)
    await link.close()


async def test_a_server_without_the_subprotocol_closes_4406_and_stops(serve_asgi) -> None:
    legacy_only = GraphQL(SCHEMA, subscription_protocols=[GRAPHQL_WS_PROTOCOL])
    link = link_to(await serve_asgi(routed(legacy_only)), subprotocol=TRANSPORT_WS)
    sub = link.subscribe(Operation.of(COUNTDOWN, {"start": 3}))
    with pytest.raises(ConnectionFailed, match="4406"):
        await asyncio.wait_for(sub.next(), 5)
    assert not link.timeline.of_kind(ATTEMPT)
    await link.close()


async def test_a_wrong_path_stops_with_the_handshake_status(serve_asgi) -> None:
    link = link_to(await serve_asgi(routed(GraphQL(SCHEMA))), path="/graphgl")
    sub = link.subscribe(Operation.of(COUNTDOWN, {"start": 3}))
    with pytest.raises(ConnectionFailed, match=r"HTTP 40[34].*not retrying"):
        await asyncio.wait_for(sub.next(), 5)
    assert not link.timeline.of_kind(ATTEMPT) and link.connections == 0
    await link.close()


async def test_4403_refreshes_once_against_strawberry(serve_asgi) -> None:
    payload = {"token": "expired"}
    refreshes: list[int] = []

    def refresh() -> None:
        refreshes.append(1)
        payload["token"] = "good"

    link = link_to(await serve_asgi(routed(Guarded(SCHEMA))), init_payload=lambda: dict(payload),
                   refresh=refresh)
    sub = link.subscribe(Operation.of(COUNTDOWN, {"start": 2}))
    assert [d["countdown"] for d in await asyncio.wait_for(drain(sub), 5)] == [2, 1]
    assert refreshes == [1] and link.connections == 1
    await link.close()

    stuck = link_to(link.url.removesuffix("/graphql").replace("ws://", "http://"),
                    init_payload={"token": "forged"})
    sub = stuck.subscribe(Operation.of(COUNTDOWN, {"start": 2}))
    with pytest.raises(AuthenticationFailed, match="4403"):
        await asyncio.wait_for(sub.next(), 5)
    await stuck.close()


# -- a raw server that closes with a chosen code -----------------------------------------------
@asynccontextmanager
async def closing_with(code: int, times: int = 1) -> AsyncIterator[tuple[str, list[int]]]:
    """graphql-transport-ws, barely: ack the init, close with ``code`` at the first
    ``subscribe`` (the first ``times`` connections), then serve one ``next`` + ``complete``."""
    connections: list[int] = []

    async def handler(ws: ServerConnection) -> None:
        connections.append(code)
        assert json.loads(await ws.recv())["type"] == "connection_init"
        await ws.send(json.dumps({"type": "connection_ack"}))
        message = json.loads(await ws.recv())
        if len(connections) <= times:
            await ws.close(code, f"closing with {code}")
            return
        await ws.send(json.dumps({"type": "next", "id": message["id"],
                                  "payload": {"data": {"n": 1}}}))
        await ws.send(json.dumps({"type": "complete", "id": message["id"]}))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[TRANSPORT_WS]) as server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections


@pytest.mark.parametrize("code", [4400, 4401, 4406, 4409, 4429])
async def test_client_error_close_codes_stop_at_once(code: int) -> None:
    async with closing_with(code) as (base, connections):
        link = link_to(base, path="/")
        sub = link.subscribe(Operation.of("subscription { n }"))
        with pytest.raises(ConnectionFailed, match=f"closed with {code} .*not retried"):
            await asyncio.wait_for(sub.next(), 5)
        assert connections == [code] and not link.timeline.of_kind(ATTEMPT)
        assert link.state is S.ERROR
        await link.close()


@pytest.mark.parametrize("code", [4500, 4408, 1012])
async def test_other_close_codes_are_retried(code: int) -> None:
    async with closing_with(code) as (base, connections):
        link = link_to(base, path="/")
        sub = link.subscribe(Operation.of("subscription { n }"))
        assert [r.data async for r in sub] == [{"n": 1}]
        assert len(connections) == 2 and len(link.timeline.of_kind(ATTEMPT)) == 1
        await link.close()


# -- our own server: the same race, forced into its narrowest window ---------------------------
TICKS = "subscription { ticks(count: 3, interval: 0.01) { n } }"


async def test_a_subscription_made_while_the_idle_socket_closes_opens_the_next(
        shared_server) -> None:
    link = WebSocketLink(shared_server.ws_url("/graphql"), policy=Constant(0.05),
                         heartbeat_interval=None)
    made: list[Any] = []

    def subscribe_in_the_window(event) -> None:
        # The moment the link starts closing its idle socket: the old code cleared the new
        # subscription (or raised IllegalTransition 'connected -> connecting') and hung.
        if event.kind == NOTE and "closing the socket" in event.detail and len(made) < 3:
            made.append(link.subscribe(Operation.of(TICKS)))

    link.timeline.subscribe(subscribe_in_the_window)
    first = link.subscribe(Operation.of(TICKS))
    assert len(await asyncio.wait_for(drain(first), 5)) == 3
    for n in range(3):
        await until(link.timeline, lambda _t, n=n: len(made) > n, timeout=5)
        got = await asyncio.wait_for(drain(made[n]), 5)
        assert [d["ticks"]["n"] for d in got] == [0, 1, 2]
    assert link.connections == 4  # each one came while the last socket was closing
    await link.close()
    assert link.state is S.DISCONNECTED


@pytest.mark.parametrize("knob", [
    {"heartbeat_interval": 0}, {"heartbeat_timeout": -1}, {"connect_timeout": float("nan")},
    {"ack_timeout": 0}, {"auth_window": -1}, {"inbox_size": -1},
])
def test_every_knob_is_checked(knob: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(knob))):
        WebSocketLink("ws://127.0.0.1:9/graphql", **knob)
