"""GraphQLClient's bookkeeping with the real cache and a scripted terminating link, plus its
views (QueryView, CacheView) and the chapter's ported operations.

The scripted link stands in for the server only here, where exact answers (a network
error at a chosen moment, an answer held back) make the client's own decisions visible;
the same behaviour against the real server is in tests/integration/test_graphql_client.py.
"""

from __future__ import annotations

import asyncio

import pytest

from rtlab.chapter.graphql_operations import (
    FETCH_USER_QUERY,
    UpdateLog,
    chapter_builder,
    chapter_optimistic_result,
    chapter_update,
)
from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.client import GraphQLClient, QueryResult
from rtlab.graphql.documents import VariableError
from rtlab.graphql.links import Link, NetworkError, Response
from rtlab.widgets import CacheView, QueryView

USER = "query User($id: ID!) { user(id: $id) { id name } }"
RENAME = "mutation Rename($name: String!) { updateUser(input: {name: $name}) { id name } }"


def user(uid: str, name: str) -> Response:
    return Response(data={"user": {"__typename": "User", "id": uid, "name": name}})


class Scripted(Link):
    """Answers each request with the next scripted Response (or raises it); ``hold`` gates."""

    def __init__(self, *script: Response | Exception) -> None:
        self.script = list(script)
        self.seen: list = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def request(self, op, forward=None):
        self.seen.append(op)
        await self.hold.wait()
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def client_with(*script: Response | Exception, **options) -> GraphQLClient:
    return GraphQLClient(Scripted(*script), NormalizedCache(), **options)


async def test_results_are_recorded_on_the_timeline_as_round_trips_and_hits():
    client = client_with(user("1", "Ada"))
    await client.query(USER, {"id": "1"})
    await client.query(USER, {"id": "1"})
    kinds = [e.kind for e in client.timeline.events]
    assert kinds == ["out", "in", "note"]
    assert client.network_calls == 1 and client.cache_hits == 1


async def test_cache_only_miss_is_an_error_result_and_sends_nothing():
    client = client_with()
    result = await client.query(USER, {"id": "1"}, fetch_policy="cache-only")
    assert result.state == "error" and result.error_codes == ["CACHE_MISS"]
    assert client.link.seen == []


async def test_unknown_policies_fail_at_once():
    with pytest.raises(ValueError):
        client_with(fetch_policy="cache-sometimes")
    with pytest.raises(ValueError):
        client_with(mutation_fetch_policy="cache-first")


async def test_a_watched_query_follows_writes_by_other_queries():
    client = client_with(user("1", "Ada"), user("1", "Ada Lovelace"))
    watched = client.watch_query(USER, {"id": "1"})
    await watched.settled()
    await client.query(USER, {"id": "1"}, fetch_policy="network-only")
    assert watched.data["user"]["name"] == "Ada Lovelace" and watched.result.source == "cache"
    assert [e.data.state for e in watched.timeline.of_kind("result")] == ["data", "data"]


async def test_optimistic_layer_rolls_back_exactly_on_a_network_error():
    client = client_with(user("1", "Ada"), NetworkError("boom"))
    watched = client.watch_query(USER, {"id": "1"})
    await watched.settled()
    before = client.cache.extract()
    client.link.hold.clear()
    task = asyncio.create_task(client.mutate(
        RENAME, {"name": "Guess"},
        optimistic_response={"updateUser": {"__typename": "User", "id": "1", "name": "Guess"}}))
    while not client.cache.optimistic_layers:
        await asyncio.sleep(0)
    assert watched.data["user"]["name"] == "Guess"
    client.link.hold.set()
    result = await task
    assert result.state == "error" and result.network_error is not None
    assert watched.data["user"]["name"] == "Ada"
    assert client.cache.extract() == before and client.cache.optimistic_layers == []


async def test_error_policy_none_turns_errors_into_an_error_result():
    client = client_with(Response(data={"user": None}, errors=[{"message": "nope"}]))
    result = await client.query(USER, {"id": "9"})
    assert result.state == "error" and result.data is None and result.error == "nope"


async def test_fetch_more_names_an_undeclared_variable():
    client = client_with(Response(data={"user": {
        "__typename": "User", "id": "1", "name": "A", "email": "a@x", "avatar": None,
        "posts": []}}))
    watched = client.watch_query(FETCH_USER_QUERY, {"userId": "1"})
    await watched.settled()
    with pytest.raises(VariableError, match="'limit'.*does not declare"):
        await watched.fetch_more({"limit": 10, "offset": 10})
    await client.close()


async def test_polling_needs_a_positive_interval():
    client = client_with(user("1", "Ada"))
    watched = client.watch_query(USER, {"id": "1"})
    with pytest.raises(ValueError):
        watched.start_polling(0)
    await client.close()
    assert watched.closed and not client._queries


# -- views ------------------------------------------------------------------------------------
async def test_query_view_shows_states_and_retries_on_error():
    client = client_with(NetworkError("down"), user("2", "Bob"))
    watched = client.watch_query(USER, {"id": "2"})
    view = QueryView(watched, title="bob")
    await watched.settled()
    view.flush_now()
    assert view.state == "error" and "network: down" in view.text()
    assert view.retry.layout.display is None  # visible
    assert "rtlab-queryview" in view._dom_classes
    view.press_retry()
    await asyncio.gather(*view._tasks)
    view.flush_now()
    assert view.state == "data" and '"Bob"' in view.text()
    assert view.retry.layout.display == "none"
    view.close()
    await client.close()


async def test_cache_view_marks_the_entities_a_change_touched():
    client = client_with(user("1", "Ada"), user("2", "Bob"), Response(
        data={"updateUser": {"__typename": "User", "id": "1", "name": "Ada L."}}))
    view = CacheView(client.cache)
    await client.query(USER, {"id": "1"})
    await client.query(USER, {"id": "2"})
    await client.mutate(RENAME, {"name": "Ada L."})
    view.flush_now()
    marked = {eid for eid, _, changed, _ in view.rows() if changed}
    assert "User:1" in marked and "User:2" not in marked
    assert "* User:1" in view.text() and "rtlab-cacheview" in view._dom_classes
    view.close()
    assert not view.following
    await client.close()


async def test_cache_view_tags_optimistic_rows():
    cache = NormalizedCache()
    view = CacheView(cache)
    cache.record_optimistic("guess", lambda c: c.write_query(
        USER, {"id": "7"}, {"user": {"__typename": "User", "id": "7", "name": "Maybe"}}))
    view.flush_now()
    assert "User:7 (optimistic)" in view.text()
    cache.remove_optimistic("guess")
    view.flush_now()
    assert "User:7" not in view.text()
    view.close()


# -- the chapter's operations ---------------------------------------------------------------
def test_the_chapters_builder_hides_partial_data_behind_the_error():
    partial = QueryResult({"user": {"name": "Ada", "posts": []}},
                          ({"message": "posts failed"},))
    assert partial.state == "data"  # rtlab shows the data it has
    assert chapter_builder(partial).startswith("ErrorWidget")  # the chapter shows only this


def test_the_chapters_update_reads_without_variables_and_does_nothing():
    cache = NormalizedCache()
    log = UpdateLog()
    chapter_update(log)(cache, QueryResult({"createPost": {"id": "1"}}))
    assert "$userId" in log[0] and cache.extract() == {}


def test_the_chapters_optimistic_result_cannot_be_normalized():
    result = chapter_optimistic_result("t", "c", now=0)["createPost"]
    assert "__typename" not in result and result["author"]["id"] == "current-user-id"
