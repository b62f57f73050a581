"""The persistent cache survives a restart: saved by one process, answered by a fresh one."""

from __future__ import annotations

from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.client import GraphQLClient
from rtlab.graphql.http import HttpLink
from rtlab.graphql.store import SqliteStore, save
from rtlab.teaching.fresh_process import run

USER = "query User($id: ID!) { user(id: $id) { id name posts(limit: 3) { id title } } }"


async def test_a_fresh_process_answers_from_the_saved_store_with_no_network(
    tmp_path, launch_server
):
    server = launch_server()
    path = tmp_path / "cache.sqlite"
    async with GraphQLClient(HttpLink(server.http_url("/graphql")), NormalizedCache()) as client:
        online = await client.query(USER, {"id": "1"})
    assert save(client.cache, path) == len(client.cache)
    server.kill()  # nothing to ask any more

    report = run(path, USER, {"id": "1"})
    assert report["source"] == "cache" and report["network_calls"] == 0
    assert report["data"] == online.data

    missing = run(path, USER, {"id": "2"})  # never fetched: the fresh process must go online
    assert missing["network_calls"] == 1 and missing["data"] is None
    assert "offline" in missing["error"]


async def test_an_attached_store_flushes_what_the_client_wrote(tmp_path, shared_server):
    path = tmp_path / "cache.sqlite"
    cache = NormalizedCache()
    with SqliteStore(path) as store:
        store.attach(cache)
        async with GraphQLClient(HttpLink(shared_server.http_url("/graphql")), cache) as client:
            await client.query(USER, {"id": "3"})
        assert store.flush() == len(cache)
    report = run(path, USER, {"id": "3"}, url=shared_server.http_url("/graphql"))
    assert report["network_calls"] == 0
    assert report["data"]["user"]["name"] == "Carol Chen"
