"""GraphQL over HTTP against the real server process: the chapter's documents, auth,
persisted queries, batches, limits and malformed requests (gql's httpx transport where a
client library is natural, raw httpx for the wire format)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import time
from pathlib import Path

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

_spec = importlib.util.spec_from_file_location(
    "graphql_support", Path(__file__).with_name("graphql_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
from rtlab.chapter import documents as chapter  # noqa: E402


def gql_client(server, token: str | None = None) -> Client:
    transport = HTTPXAsyncTransport(url=server.http_url("/graphql"), headers=support.bearer(token))
    return Client(transport=transport)


async def execute(server, document: str, variables=None, token: str | None = None):
    async with gql_client(server, token) as session:
        return await session.execute(GraphQLRequest(document, variable_values=variables))


# -- the chapter's documents ------------------------------------------------------------------
async def test_chapter_get_user_runs_verbatim(shared_server) -> None:
    data = await execute(shared_server, chapter.GET_USER, {"userId": "1"})
    user = data["user"]
    assert user["id"] == "1" and user["name"] == "Alice Andersen"
    assert user["email"] == "alice@example.com" and user["avatar"].endswith("alice.png")
    posts = user["posts"]
    assert len(posts) == 10 and all(isinstance(p["id"], str) for p in posts)
    stamps = [p["createdAt"] for p in posts]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert set(posts[0]) == {"id", "title", "content", "createdAt"}


async def test_chapter_create_post_runs_verbatim_and_is_listed_first(lab_server) -> None:
    token = support.login(lab_server, "bob")
    data = await execute(lab_server, chapter.CREATE_POST,
                         {"input": {"title": "Hello", "content": "from the chapter"}}, token)
    post = data["createPost"]
    assert post["title"] == "Hello" and post["author"] == {"id": "2", "name": "Bob Brown"}
    latest = await execute(lab_server, chapter.GET_USER, {"userId": "2"})
    assert latest["user"]["posts"][0]["id"] == post["id"]


async def test_seeded_data_is_deterministic(launch_server, shared_server) -> None:
    other = launch_server()
    query = "{ posts(limit: 40) { id title createdAt author { id } comments { id content } } }"
    a = (await support.post(shared_server, query)).json()
    b = (await support.post(other, query)).json()
    assert a == b and len(a["data"]["posts"]) == 40


# -- the chapter's fetchMore pitfall -------------------------------------------------------------
async def test_fetch_more_with_undeclared_variables_silently_repeats_page_one(
    shared_server,
) -> None:
    """The chapter's fetchMore sends {limit: 10, offset: 10} with GetUser, which declares
    neither: the server ignores them and answers page one again (no error at all)."""
    first = await support.post(shared_server, chapter.GET_USER, {"userId": "1"})
    more = await support.post(shared_server, chapter.GET_USER,
                              {"userId": "1", **chapter.FETCH_MORE_VARIABLES})
    assert more.status_code == 200 and "errors" not in more.json()
    assert more.json()["data"]["user"]["posts"] == first.json()["data"]["user"]["posts"]


async def test_fetch_more_variables_alone_miss_user_id(shared_server) -> None:
    r = await support.post(shared_server, chapter.GET_USER, chapter.FETCH_MORE_VARIABLES)
    error = r.json()["errors"][0]
    assert "$userId" in error["message"] and "data" not in r.json()
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_using_undeclared_variables_fails_validation(shared_server) -> None:
    r = await support.post(shared_server, chapter.GET_USER_UNDECLARED,
                           {"userId": "1", **chapter.FETCH_MORE_VARIABLES})
    messages = [e["message"] for e in r.json()["errors"]]
    assert "Variable '$limit' is not defined by operation 'GetUser'." in messages
    assert "Variable '$offset' is not defined by operation 'GetUser'." in messages
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_corrected_pagination_returns_the_next_page(shared_server) -> None:
    page1 = await execute(shared_server, chapter.GET_USER_PAGINATED, {"userId": "1"})
    page2 = await execute(shared_server, chapter.GET_USER_PAGINATED,
                          {"userId": "1", **chapter.FETCH_MORE_VARIABLES})
    both = await execute(shared_server, chapter.GET_USER_PAGINATED, {"userId": "1", "limit": 20})
    ids1 = [p["id"] for p in page1["user"]["posts"]]
    ids2 = [p["id"] for p in page2["user"]["posts"]]
    assert len(ids2) == 10 and not set(ids1) & set(ids2)
    assert ids1 + ids2 == [p["id"] for p in both["user"]["posts"]]


# -- auth ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "not-a-jwt", "e30.e30.c2ln"])
async def test_protected_fields_answer_unauthenticated(shared_server, token) -> None:
    r = await support.post(shared_server, '{ user(id: "3") { name } me { id } }', token=token)
    body = r.json()
    assert r.status_code == 200
    assert body["data"] == {"user": {"name": "Carol Chen"}, "me": None}  # partial data kept
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["me"]


@pytest.mark.parametrize("mutation", [
    'mutation { createPost(input: {title: "t", content: "c"}) { id } }',
    'mutation { updateUser(input: {name: "x"}) { id } }',
    'mutation { sendMessage(chatRoomId: "general", content: "hi") { id } }',
    'mutation { markNotificationRead(id: "1") { id } }',
])
async def test_protected_mutations_need_a_token(shared_server, mutation) -> None:
    with pytest.raises(TransportQueryError) as info:
        await execute(shared_server, mutation)
    assert info.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_signed_in_me_and_expiry(launch_server) -> None:
    server = launch_server(token_ttl=1)
    token = support.login(server, "carol")
    assert (await execute(server, "{ me { id username } }", token=token)) == {
        "me": {"id": "3", "username": "carol"}}
    deadline = time.monotonic() + 5
    while True:  # the token's own clock: poll the server until it refuses
        body = (await support.post(server, "{ me { id } }", token=token)).json()
        if "errors" in body:
            break
        assert time.monotonic() < deadline, "token never expired"
        await asyncio.sleep(0.1)
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "token expired"}


async def test_update_user_and_mark_read_return_cacheable_entities(lab_server) -> None:
    token = support.login(lab_server, "alice")
    data = await execute(lab_server, 'mutation { updateUser(input: {name: "Alicia"}) '
                         "{ __typename id name email } }", token=token)
    assert data["updateUser"] == {"__typename": "User", "id": "1", "name": "Alicia",
                                  "email": "alice@example.com"}
    assert (await execute(lab_server, '{ user(id: "1") { name } }'))["user"]["name"] == "Alicia"
    notes = await execute(lab_server, "{ notifications(unreadOnly: true) { id read } }",
                          token=token)
    first = notes["notifications"][0]["id"]
    marked = await execute(lab_server, "mutation($id: ID!) { markNotificationRead(id: $id) "
                           "{ __typename id read } }", {"id": first}, token)
    assert marked["markNotificationRead"] == {"__typename": "Notification", "id": first,
                                              "read": True}
    bob = support.login(lab_server, "bob")
    with pytest.raises(TransportQueryError) as info:  # not bob's notification
        await execute(lab_server, "mutation($id: ID!) { markNotificationRead(id: $id) { id } }",
                      {"id": first}, bob)
    assert info.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


# -- persisted queries -----------------------------------------------------------------------------
def _apq(digest: str, **more) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}, **more}


async def test_apq_miss_store_hit_over_post(lab_server) -> None:
    query = '{ user(id: "2") { id name } }'
    digest = hashlib.sha256(query.encode()).hexdigest()
    url = lab_server.http_url("/graphql")
    async with httpx.AsyncClient(timeout=5) as http:
        miss = await http.post(url, json={"extensions": _apq(digest)})
        assert miss.status_code == 200 and miss.headers["cache-control"] == "no-store"
        error = miss.json()["errors"][0]
        assert error["message"] == "PersistedQueryNotFound"
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        stored = await http.post(url, json={"query": query, "extensions": _apq(digest)})
        assert stored.json() == {"data": {"user": {"id": "2", "name": "Bob Brown"}}}
        hit = await http.post(url, json={"extensions": _apq(digest, tracing=True)})
        assert hit.json() == stored.json()  # unknown extension keys tolerated


async def test_apq_miss_store_hit_over_get(lab_server) -> None:
    query = "query Three { user(id: \"3\") { name } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    url = lab_server.http_url("/graphql")
    params = {"operationName": "Three", "variables": "{}",
              "extensions": json.dumps(_apq(digest))}
    async with httpx.AsyncClient(timeout=5) as http:
        miss = await http.get(url, params=params)
        assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        stored = await http.get(url, params={**params, "query": query})
        assert stored.json() == {"data": {"user": {"name": "Carol Chen"}}}
        hit = await http.get(url, params=params)
        assert hit.json() == stored.json() and len(hit.url.query) < len(stored.url.query)
        # stored over GET, found over POST too: one store
        post = await http.post(url, json={"extensions": _apq(digest), "operationName": "Three"})
        assert post.json() == stored.json()


async def test_apq_hash_mismatch_is_refused_and_not_stored(lab_server) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = await support.post(lab_server, "{ posts(limit: 1) { id } }", extensions=_apq(wrong))
    assert r.status_code == 400
    error = r.json()["errors"][0]
    assert error["message"].startswith("provided sha does not match query")
    assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    again = await support.post(lab_server, extensions=_apq(wrong))
    assert again.json()["errors"][0]["message"] == "PersistedQueryNotFound"


@pytest.mark.parametrize(("extensions", "needle"), [
    ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "version"),
    ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "64 hex digits"),
    ({"persistedQuery": "yes"}, "must be an object"),
])
async def test_apq_bad_extensions_get_clear_errors(shared_server, extensions, needle) -> None:
    r = await support.post(shared_server, extensions=extensions)
    assert r.status_code == 400 and needle in r.json()["errors"][0]["message"]


# -- batches ------------------------------------------------------------------------------------
async def test_batch_of_three_answers_in_request_order(shared_server) -> None:
    batch = [{"query": f'{{ user(id: "{i}") {{ id }} }}'} for i in ("3", "1", "2")]
    batch[1] = {"query": "query Me { me { id } }", "operationName": "Me"}
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.post(shared_server.http_url("/graphql"), json=batch)
    body = r.json()
    assert r.status_code == 200 and isinstance(body, list) and len(body) == 3
    assert body[0] == {"data": {"user": {"id": "3"}}}
    assert body[1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body[2] == {"data": {"user": {"id": "2"}}}


async def test_batch_with_gql_client(shared_server) -> None:
    transport = HTTPXAsyncTransport(url=shared_server.http_url("/graphql"))
    async with Client(transport=transport) as session:
        results = await session.execute_batch([
            GraphQLRequest(chapter.GET_USER, variable_values={"userId": uid}) for uid in "213"
        ])
    assert [r["user"]["id"] for r in results] == ["2", "1", "3"]


async def test_batch_items_fail_alone(shared_server) -> None:
    batch = [{"query": "{ posts(limit: 1) { id } }"}, 42, {"query": "{ nope }"}]
    async with httpx.AsyncClient(timeout=5) as http:
        body = (await http.post(shared_server.http_url("/graphql"), json=batch)).json()
    assert "data" in body[0]
    assert "must be a JSON object" in body[1]["errors"][0]["message"]
    assert body[2]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("size", [0, 21])
async def test_batch_size_is_limited(shared_server, size) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.post(shared_server.http_url("/graphql"),
                            json=[{"query": "{ posts { id } }"}] * size)
    assert r.status_code == 400 and "batch" in r.json()["errors"][0]["message"]


# -- limits and malformed requests -----------------------------------------------------------------
DEEP = '{ user(id: "1") { posts { author { posts { author { posts { author { posts { author ' \
       "{ id } } } } } } } } } }"


@pytest.mark.parametrize(("request_kwargs", "status", "code", "needle"), [
    ({"json": {"query": DEEP}}, 200, "GRAPHQL_VALIDATION_FAILED", "maximum operation depth"),
    ({"json": {"query": "{ " + " ".join(f"a{i}: posts {{ id }}" for i in range(31)) + " }"}},
     200, "GRAPHQL_VALIDATION_FAILED", "aliases"),
    ({"json": {"query": "{ " + "posts { id } " * 2000 + "}"}}, 200, "GRAPHQL_PARSE_FAILED",
     "tokens"),
    ({"content": b"x" * (256 * 1024 + 1), "headers": {"content-type": "application/json"}},
     413, "PAYLOAD_TOO_LARGE", "at most"),
    ({"content": b'{"query": ', "headers": {"content-type": "application/json"}},
     400, "BAD_REQUEST", "not valid JSON"),
    ({"content": b'"just a string"', "headers": {"content-type": "application/json"}},
     400, "BAD_REQUEST", "JSON object"),
    ({"content": b"{ posts { id } }", "headers": {"content-type": "application/graphql"}},
     415, "UNSUPPORTED_MEDIA_TYPE", "application/json"),
    ({"json": {"query": "{ posts { id }"}}, 200, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
    ({"json": {"query": 7}}, 400, "BAD_REQUEST", "`query` must be a string"),
    ({"json": {"variables": {}}}, 400, "BAD_REQUEST", "no query"),
    ({"json": {"query": "query A { posts { id } } query B { posts { id } }"}}, 400,
     "GRAPHQL_VALIDATION_FAILED", "operationName"),
    ({"json": {"query": "subscription { postCreated { id } }"}}, 400, "BAD_REQUEST",
     "WebSocket"),
])
async def test_abuse_and_malformed_requests_get_clear_errors(
    shared_server, request_kwargs, status, code, needle
) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.post(shared_server.http_url("/graphql"), **request_kwargs)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/json")
        error = r.json()["errors"][0]
        assert error["extensions"]["code"] == code and needle in error["message"], error
        ok = await http.post(shared_server.http_url("/graphql"), json={"query": "{ posts { id } }"})
        assert ok.status_code == 200 and len(ok.json()["data"]["posts"]) == 10  # still serving


async def test_graphql_response_media_type_and_status_codes(shared_server) -> None:
    headers = {"accept": "application/graphql-response+json, application/json;q=0.9"}
    url = shared_server.http_url("/graphql")
    async with httpx.AsyncClient(timeout=5, headers=headers) as http:
        bad = await http.post(url, json={"query": "{ nope }"})
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("application/graphql-response+json")
        assert "data" not in bad.json()
        good = await http.post(url, json={"query": "{ me { id } }"})
        assert good.status_code == 200 and good.json()["data"] == {"me": None}


async def test_get_queries_work_but_get_mutations_do_not(shared_server) -> None:
    url = shared_server.http_url("/graphql")
    async with httpx.AsyncClient(timeout=5) as http:
        query = await http.get(url, params={"query": '{ user(id: "1") { name } }'})
        assert query.json() == {"data": {"user": {"name": "Alice Andersen"}}}
        mutation = await http.get(url, params={
            "query": 'mutation { sendMessage(chatRoomId: "x", content: "y") { id } }'})
        assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
        bad_vars = await http.get(url, params={"query": "{ posts { id } }", "variables": "{"})
        assert bad_vars.status_code == 400
        assert "variables" in bad_vars.json()["errors"][0]["message"]
        put = await http.put(url, json={"query": "{ posts { id } }"})
        assert put.status_code == 405 and put.json()["errors"][0]["extensions"]["code"] == (
            "METHOD_NOT_ALLOWED")


async def test_introspection_is_not_blocked_by_the_depth_limit(shared_server) -> None:
    transport = HTTPXAsyncTransport(url=shared_server.http_url("/graphql"))
    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        assert session.client.schema is not None
        assert "notificationReceived" in session.client.schema.subscription_type.fields
