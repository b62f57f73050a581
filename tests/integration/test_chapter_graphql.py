"""The chapter's GraphQL ports against the real server: what each pitfall relies on.

``GraphQLProviderWidget`` (seed l.219-249) and ``MultiSubscriptionManager`` (l.783-846):
the claims the course makes about them, pinned.
"""

from __future__ import annotations

import asyncio

from rtlab.auth import TokenManager
from rtlab.chapter import ChapterMultiSubscriptionManager
from rtlab.chapter.graphql_config import (
    ChapterGraphQLConfig,
    ChapterHive,
    ChapterProviderWidget,
    ChapterSecureStorage,
)
from rtlab.graphql import GraphQLClient, HttpLink, NormalizedCache
from rtlab.graphql.links import Operation
from rtlab.graphql.ws import WebSocketLink
from rtlab.waiting import until

USER = 'query Bob { user(id: "2") { id name } }'
PRESENCE = "subscription { userPresenceUpdated { userId status } }"


ROOM = "subscription Room($id: ID!) { messageReceived(chatRoomId: $id) { id } }"
SUBSCRIBERS = "query S($id: ID!) { chatRoom(id: $id) { subscribers } }"


async def subscribers(server, room: str) -> int:
    client = GraphQLClient(HttpLink(server.http_url("/graphql")), NormalizedCache())
    try:
        answer = await client.query(SUBSCRIBERS, {"id": room}, fetch_policy="network-only")
        return answer.data["chatRoom"]["subscribers"]
    finally:
        await client.close()


async def test_a_rebuild_reads_the_open_box_but_keeps_the_old_client_and_its_socket(
        shared_server):
    # l.226-227 FutureBuilder(future: GraphQLConfig().getClient()); l.60 HiveStore.open().
    storage = ChapterSecureStorage()
    await storage.login(shared_server.url, "alice")
    hive = ChapterHive()
    app = ChapterProviderWidget(shared_server.url, storage, hive)
    try:
        first_try = app.rebuild()
        await asyncio.gather(first_try, return_exceptions=True)
        assert app.build().startswith("Failed to initialize GraphQL: You need to initialize Hive")
        hive.init_for_flutter()
        first = await app.rebuild()
        assert app.build() == "GraphQLProvider(client #1, child: app)"
        await first.query(USER, fetch_policy="cache-first")
        watched = first.watch_query(USER)
        await watched.settled()
        room = {"id": "provider-test"}
        sub_one = first.subscribe(ROOM, room)  # what the app under the provider listens to

        rebuilding = app.rebuild()
        assert app.build() == "Material(Center(CircularProgressIndicator()))"  # app unmounted
        second = await rebuilding
        assert app.build() == "GraphQLProvider(client #2, child: app)"
        again = await second.query(USER, fetch_policy="cache-first")
        assert again.source == "cache" and second.network_calls == 0  # not an empty cache
        sub_two = second.subscribe(ROOM, room)
        await sub_one.wait_live()
        await sub_two.wait_live()
        while await subscribers(shared_server, "provider-test") < 2:
            await asyncio.sleep(0.05)  # the server registers a subscribe a moment after it
        assert await subscribers(shared_server, "provider-test") == 2  # the old one stays

        second.cache.write_fragment("fragment N on User { name }", "User:2", {"name": "Robert"})
        assert second.cache.read_query(USER)["user"]["name"] == "Robert"
        assert watched.data["user"]["name"] != "Robert"  # the old client's view never hears
    finally:
        await app.dispose()


async def test_one_client_made_once_shares_its_cache_and_socket(shared_server):
    client = GraphQLClient(HttpLink(shared_server.http_url("/graphql")), NormalizedCache())
    try:
        watched = client.watch_query(USER)
        await watched.settled()
        client.cache.write_fragment("fragment N on User { name }", "User:2", {"name": "Robert"})
        await until(watched.timeline, lambda _t: watched.data["user"]["name"] == "Robert",
                    timeout=5)
    finally:
        await client.close()


async def test_a_dependency_change_resubscribes_without_duplicates(shared_server):
    # l.794-816 streams made in didChangeDependencies; StreamBuilder cancels the old one.
    alice = TokenManager(shared_server.url, "alice")
    link = WebSocketLink(shared_server.ws_url("/graphql"), init_payload=alice.headers,
                         refresh=alice.refresh, name="manager")
    probe = WebSocketLink(shared_server.ws_url("/graphql"), name="probe")
    manager = ChapterMultiSubscriptionManager(link)
    try:
        manager.did_change_dependencies()
        assert await manager.build() == "[] users online"
        for sub in manager.live():
            await sub.wait_live()
        probe.subscribe(Operation.of(PRESENCE))
        presence = manager.presence_subscription
        await until(presence.timeline, lambda t: len(t.of_kind("in")) >= 1, timeout=5)
        text = await manager.build()
        assert text.endswith("users online") and "'userId'" in text  # one event, not a count

        manager.did_change_dependencies()  # a theme or locale change
        await manager.build()
        assert (manager.subscribed, manager.cancelled) == (4, 2)
        assert len(link.active) == 2  # torn down and subscribed again: nothing piles up
        assert [s.state.value for s in manager.opened[:2]] == ["disconnected"] * 2
        assert manager.snapshot("presence")[1] is not None  # the snapshot keeps its data
        complete = [e for e in link.timeline.of_kind("out") if e.data.get("type") == "complete"]
        assert len(complete) == 2  # the server was told, once per stream
    finally:
        await probe.close()
        await link.close()


async def test_the_chapters_config_without_a_store_keeps_its_old_shape(shared_server):
    storage = ChapterSecureStorage()
    await storage.login(shared_server.url, "bob")
    config = ChapterGraphQLConfig(shared_server.url, storage)
    client = await config.get_client(NormalizedCache())
    try:
        assert config.ws_link is None  # a cache was given and no socket asked for
        assert (await client.query("query { me { id } }")).data["me"]["id"] == "2"
    finally:
        await client.close()
