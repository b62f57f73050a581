"""GraphQLClient against the real demo server: fetch policies counted in network calls, error
policies, token refresh, optimistic mutations, pagination, polling, views kept in step.

Only the links a user would run are used (AuthLink + HttpLink); where a test must hold a
request back to look at the optimistic state in between, a gate link in the chain waits
for the test to open it, and the request then goes to the real server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import jwt
import pytest

from rtlab.auth import TokenManager
from rtlab.chapter.graphql_config import ChapterGraphQLConfig, ChapterSecureStorage
from rtlab.chapter.graphql_operations import (
    FETCH_MORE_VARIABLES,
    FETCH_USER_QUERY,
    ChapterUserProfile,
)
from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.client import GraphQLClient, QueryResult
from rtlab.graphql.documents import VariableError
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import AuthLink, Link, chain
from rtlab.graphql.pagination import offset_limit
from rtlab.lab import ServerProcess
from rtlab.waiting import until

USER = """query User($id: ID!) { user(id: $id) { id name email } }"""
ME = """query Me { me { id name email } }"""
POSTS = """query Posts($id: ID!, $limit: Int = 10, $offset: Int = 0) {
  user(id: $id) { id name posts(limit: $limit, offset: $offset) { id title } } }"""
CREATE = """mutation CreatePost($input: CreatePostInput!) {
  createPost(input: $input) { id title author { id name } } }"""
RENAME = """mutation Rename($name: String!) { updateUser(input: {name: $name}) { id name } }"""
MIXED = """query Mixed { user(id: "2") { id name } me { id name } }"""


class Gate(Link):
    """Holds each operation until ``open()``: lets a test look at the state in between."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = asyncio.Event()

    async def request(self, op, forward):
        self.waiting.set()
        await self.opened.wait()
        return await forward(op)


@pytest.fixture
async def make_client(shared_server: ServerProcess) -> AsyncIterator[Callable[..., GraphQLClient]]:
    made: list[GraphQLClient] = []

    def make(*links: Link, cache: NormalizedCache | None = None,
             server: ServerProcess | None = None, **options) -> GraphQLClient:
        http = HttpLink((server or shared_server).http_url("/graphql"))
        client = GraphQLClient(chain(*links, http) if links else http,
                               cache if cache is not None else NormalizedCache(), **options)
        client.http = http  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def signed_in(server: ServerProcess, username: str = "alice",
              **kwargs) -> tuple[AuthLink, TokenManager]:
    tokens = TokenManager(server.url, username, **kwargs)
    return AuthLink(tokens.token, tokens.refresh), tokens


# -- fetch policies ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "cold_calls", "warm_calls", "warm_source"),
    [
        ("cache-first", 1, 0, "cache"),
        ("cache-and-network", 1, 1, "network"),
        ("network-only", 1, 1, "network"),
        ("no-cache", 1, 1, "network"),
        ("cache-only", 0, 0, "cache"),
    ],
)
async def test_each_fetch_policy_makes_the_network_calls_it_promises(
    make_client, policy, cold_calls, warm_calls, warm_source
):
    cold = make_client()
    result = await cold.query(USER, {"id": "1"}, fetch_policy=policy)
    assert cold.network_calls == cold_calls == cold.http.requests
    if policy == "cache-only":
        assert result.data is None  # an empty cache and no network: nothing to show
    else:
        assert result.data["user"]["name"] == "Alice Andersen"

    warm = make_client()
    await warm.query(USER, {"id": "1"}, fetch_policy="network-only")
    version = warm.cache.version
    result = await warm.query(USER, {"id": "1"}, fetch_policy=policy)
    assert warm.network_calls - 1 == warm_calls
    assert result.source == warm_source
    assert result.data["user"]["email"].startswith("alice")
    if policy in ("no-cache", "cache-only", "cache-first"):
        assert warm.cache.version == version  # nothing written


async def test_cache_and_network_shows_the_cache_first_then_the_network(make_client):
    client = make_client()
    await client.query(USER, {"id": "1"})
    watched = client.watch_query(USER, {"id": "1"}, fetch_policy="cache-and-network")
    await watched.settled()
    sources = [e.data.source for e in watched.timeline.of_kind("result")]
    assert sources == ["cache", "network"]
    assert client.network_calls == 2 and client.cache_hits == 1


async def test_no_cache_answers_are_not_stored(make_client):
    client = make_client()
    await client.query(USER, {"id": "2"}, fetch_policy="no-cache")
    assert "User:2" not in client.cache
    await client.query(USER, {"id": "2"})
    assert "User:2" in client.cache and client.network_calls == 2


# -- error policies ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "has_data", "has_errors"),
    [("none", False, True), ("ignore", True, False), ("all", True, True)],
)
async def test_error_policies_on_a_partly_failing_query(make_client, policy, has_data, has_errors):
    client = make_client()  # no token: `me` fails with UNAUTHENTICATED, `user` answers
    result = await client.query(MIXED, error_policy=policy, fetch_policy="network-only")
    assert (result.data is not None) == has_data
    assert bool(result.errors) == has_errors
    if has_data:
        assert result.data["user"]["name"] == "Bob Brown" and result.data["me"] is None
    if has_errors:
        assert result.error_codes == ["UNAUTHENTICATED"]
    assert ("User:2" in client.cache) == has_data  # policy none writes nothing


async def test_a_network_error_is_a_result_not_an_exception(make_client, launch_server):
    server = launch_server()
    client = make_client(server=server)
    server.kill()
    result = await client.query(USER, {"id": "1"})
    assert result.state == "error" and result.network_error is not None
    assert "network" in result.error


# -- auth: refresh ahead of expiry, and refresh-then-retry once on UNAUTHENTICATED ---------------
async def test_token_refreshed_ahead_of_expiry_with_a_short_ttl(make_client, launch_server):
    server = launch_server(token_ttl=2)
    auth, tokens = signed_in(server, margin=1.5)
    client = make_client(auth, server=server)
    first = await client.query(ME, fetch_policy="network-only")
    token = tokens.tokens.access_token
    await asyncio.sleep(max(0.0, tokens.tokens.expires_at - tokens.margin - time.monotonic()))
    second = await client.query(ME, fetch_policy="network-only")
    assert first.data["me"]["id"] == second.data["me"]["id"] == "1"
    assert tokens.refreshes == 1 and tokens.tokens.access_token != token
    assert auth.refreshes == 0  # refreshed ahead: the server never saw an expired token


async def test_unauthenticated_is_refreshed_and_retried_once(make_client, launch_server):
    server = launch_server(token_ttl=1)
    frozen = [time.monotonic()]
    auth, tokens = signed_in(server, margin=0, clock=lambda: frozen[0])  # never thinks it old
    client = make_client(auth, server=server)
    await client.query(ME, fetch_policy="network-only")
    exp = jwt.decode(tokens.tokens.access_token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, exp - time.time() + 0.05))  # the server now refuses it
    result = await client.query(ME, fetch_policy="network-only")
    assert result.data["me"]["name"] == "Alice Andersen" and not result.errors
    assert auth.refreshes == 1 and tokens.refreshes == 1
    assert client.http.requests == 3  # first query; then the refused try and its one retry


async def test_retry_happens_once_only(make_client, shared_server):
    refreshes = []

    async def still_bad() -> str:
        refreshes.append(1)
        return "still-not-a-token"

    auth = AuthLink(lambda: "not-a-token", still_bad)
    client = make_client(auth)
    result = await client.query(ME, fetch_policy="network-only")
    assert result.error_codes == ["UNAUTHENTICATED"] and result.data is None
    assert refreshes == [1] and client.http.requests == 2


async def test_the_chapters_refresh_refreshes_nothing(launch_server):
    server = launch_server(token_ttl=1)
    storage = ChapterSecureStorage()
    await storage.login(server.url, "alice")
    config = ChapterGraphQLConfig(server.url, storage)
    client = await config.get_client(NormalizedCache())
    try:
        assert (await client.query(ME)).data["me"]["id"] == "1"
        exp = jwt.decode(storage.access_token, options={"verify_signature": False})["exp"]
        await asyncio.sleep(
            max(0.0, exp - time.time() + 0.05, storage.expires_at - time.monotonic()))
        result = await client.query(ME, fetch_policy="network-only")
        assert result.error_codes == ["UNAUTHENTICATED"]
        assert config.refresh_attempts == 1  # "refreshed" ...
        assert "Authentication error: Token invalid or expired" in config.log  # ... and logged
        assert config.http.requests == 2  # no retry
    finally:
        await client.close()


# -- mutations: optimistic, confirmed, rolled back; views in step --------------------------------
def prepend_post(cache: NormalizedCache, result: QueryResult) -> None:
    existing = cache.read_query(POSTS, {"id": "1", "limit": 5, "offset": 0})
    if existing is None:
        return
    user = existing["user"]
    cache.write_query(POSTS, {"id": "1", "limit": 5, "offset": 0},
                      {"user": {**user, "posts": [result.data["createPost"], *user["posts"]]}})


def optimistic(title: str) -> dict:
    return {"createPost": {"__typename": "Post", "id": "temp-1", "title": title,
                           "author": {"__typename": "User", "id": "1", "name": "Alice Andersen"}}}


async def test_optimistic_post_shows_at_once_then_is_confirmed(make_client, launch_server):
    server = launch_server()
    auth, _ = signed_in(server)
    gate = Gate()
    client = make_client(gate, auth, server=server)
    gate.opened.set()
    feed = client.watch_query(POSTS, {"id": "1", "limit": 5})
    await feed.settled()
    before = [p["id"] for p in feed.data["user"]["posts"]]
    gate.opened.clear()
    gate.waiting.clear()

    task = asyncio.create_task(client.mutate(
        CREATE, {"input": {"title": "Hello", "content": "x"}},
        optimistic_response=optimistic("Hello"), update=prepend_post))
    await gate.waiting.wait()  # the request is held: only the optimistic layer can show it
    titles = [p["title"] for p in feed.data["user"]["posts"]]
    assert feed.data["user"]["posts"][0]["id"] == "temp-1" and titles[0] == "Hello"
    assert client.cache.optimistic_layers

    gate.opened.set()
    result = await task
    real_id = result.data["createPost"]["id"]
    ids = [p["id"] for p in feed.data["user"]["posts"]]
    assert ids == [real_id, *before] and "temp-1" not in ids
    assert client.cache.optimistic_layers == [] and "Post:temp-1" not in client.cache
    assert feed.result.source == "cache"  # updated by the cache, not by a refetch


async def test_optimistic_post_rolled_back_on_a_server_error(make_client, shared_server):
    auth, _ = signed_in(shared_server)
    gate = Gate()
    client = make_client(gate, auth)
    gate.opened.set()
    feed = client.watch_query(POSTS, {"id": "1", "limit": 5})
    await feed.settled()
    before = feed.data
    gate.opened.clear()
    gate.waiting.clear()
    task = asyncio.create_task(client.mutate(
        CREATE, {"input": {"title": "   ", "content": "empty title: refused"}},
        optimistic_response=optimistic("   "), update=prepend_post))
    await gate.waiting.wait()
    assert feed.data["user"]["posts"][0]["id"] == "temp-1"
    gate.opened.set()
    result = await task
    assert result.state == "error" and result.error_codes == ["BAD_USER_INPUT"]
    assert feed.data == before and client.cache.optimistic_layers == []
    shown = [e.data.data["user"]["posts"][0]["id"] for e in feed.timeline.of_kind("result")]
    assert shown[-2:] == ["temp-1", before["user"]["posts"][0]["id"]]


async def test_two_watchers_of_one_user_stay_in_step_after_a_mutation(make_client, launch_server):
    server = launch_server()
    auth, _ = signed_in(server)
    client = make_client(auth, server=server)
    profile = client.watch_query(USER, {"id": "1"})
    header = client.watch_query(ME)
    await profile.settled()
    await header.settled()
    calls = client.network_calls
    await client.mutate(RENAME, {"name": "Alice Zed"})
    assert profile.data["user"]["name"] == header.data["me"]["name"] == "Alice Zed"
    assert client.network_calls == calls + 1  # the mutation only: no refetch


async def test_no_cache_mutations_leave_views_stale(make_client, launch_server):
    server = launch_server()
    auth, _ = signed_in(server)
    client = make_client(auth, server=server, mutation_fetch_policy="no-cache")  # the chapter's
    profile = client.watch_query(USER, {"id": "1"})
    await profile.settled()
    result = await client.mutate(RENAME, {"name": "Alice Stale"})
    assert result.data["updateUser"]["name"] == "Alice Stale"
    assert profile.data["user"]["name"] == "Alice Andersen"


# -- pagination -------------------------------------------------------------------------------
async def test_fetch_more_with_a_field_policy_merges_pages(make_client):
    cache = NormalizedCache(type_policies={"User": {"fields": {"posts": offset_limit()}}})
    client = make_client(cache=cache)
    feed = client.watch_query(POSTS, {"id": "1"})
    await feed.settled()
    await feed.fetch_more({"offset": 10})
    merged = [p["id"] for p in feed.data["user"]["posts"]]
    direct = await client.query(POSTS, {"id": "1", "limit": 20}, fetch_policy="no-cache")
    assert merged == [p["id"] for p in direct.data["user"]["posts"]]
    assert len(set(merged)) == 20


async def test_fetch_more_with_an_update_query_merge(make_client):
    client = make_client()
    feed = client.watch_query(POSTS, {"id": "1"})
    await feed.settled()

    def merge(existing, fresh):
        return {"user": {**existing["user"],
                         "posts": [*existing["user"]["posts"], *fresh["user"]["posts"]]}}

    await feed.fetch_more({"offset": 10}, merge=merge)
    ids = [p["id"] for p in feed.data["user"]["posts"]]
    assert len(ids) == len(set(ids)) == 20


async def test_fetch_more_refuses_variables_the_query_does_not_declare(make_client):
    client = make_client()
    feed = client.watch_query(FETCH_USER_QUERY, {"userId": "1"})
    await feed.settled()
    with pytest.raises(VariableError, match="limit"):
        await feed.fetch_more(FETCH_MORE_VARIABLES)
    assert client.network_calls == 1  # refused before anything was sent


async def test_the_chapters_fetch_more_shows_page_one_twice(make_client):
    client = make_client()
    profile = ChapterUserProfile.without_poll(client, "1")  # as written it does not build
    ids = await profile.load_more()
    assert len(ids) == 20 and len(set(ids)) == 10  # page one, twice


# -- polling ------------------------------------------------------------------------------------
async def test_polling_refetches_and_stops(make_client):
    client = make_client()
    watched = client.watch_query(USER, {"id": "3"}, poll_interval=0.05)
    await until(client.timeline, lambda t: len(t.of_kind("out")) >= 4, timeout=5)
    watched.stop_polling()
    assert not watched.polling
    stopped_at = client.network_calls
    await asyncio.sleep(0.25)  # five intervals: a poller still running would have sent more
    assert client.network_calls == stopped_at
    assert watched.data["user"]["name"] == "Carol Chen"


async def test_a_poll_on_cache_first_paints_from_the_cache_then_asks_the_network(make_client):
    # Apollo Client 3's rule (ObservableQuery.updatePolling): the fetch policy decides the
    # first fetch; every poll is network-only. graphql_flutter would throw instead.
    client = make_client()
    await client.query(USER, {"id": "3"})
    watched = client.watch_query(USER, {"id": "3"}, fetch_policy="cache-first",
                                 poll_interval=0.05)
    first = await watched.settled()
    assert first.source == "cache" and client.network_calls == 1  # no request to paint
    await until(watched.timeline, lambda _t: client.network_calls >= 3, timeout=5)
    await watched.close()
    sources = [e.data.source for e in watched.timeline.of_kind("result")]
    assert sources[0] == "cache" and sources.count("network") >= 2


async def test_a_no_cache_query_polls_and_refetches_without_storing(make_client):
    client = make_client()
    watched = client.watch_query(USER, {"id": "3"}, fetch_policy="no-cache",
                                 poll_interval=0.05)
    await until(client.timeline, lambda t: len(t.of_kind("out")) >= 3, timeout=5)
    await watched.refetch()
    await watched.close()
    assert watched.data["user"]["name"] == "Carol Chen"
    assert client.cache.read_query(USER, {"id": "3"}) is None  # polls stored nothing


async def test_close_stops_polling_and_following(make_client):
    client = make_client()
    watched = client.watch_query(USER, {"id": "3"}, poll_interval=0.05)
    await watched.settled()
    await watched.close()
    assert not watched.polling and watched._unwatch is None
    results = watched.results
    await client.query(USER, {"id": "3"}, fetch_policy="network-only")
    assert watched.results == results
