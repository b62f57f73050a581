"""Network optimisation links on real sockets: batching, APQ, HTTP caching, de-duplication,
compression, and byte counts that match what the socket carried.

Servers: our demo server, and a small strawberry app with another schema and strawberry's
own view (no APQ, no batching), run in the test on a loopback port, because a client
that only works against our own server is a bug.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from rtlab.graphql.batch import BatchHttpLink
from rtlab.graphql.dedup import DedupLink
from rtlab.graphql.http import HttpLink
from rtlab.graphql.httpcache import HttpCache
from rtlab.graphql.links import NetworkError, Operation, chain
from rtlab.graphql.persisted import PersistedQueryLink
from rtlab.graphql.wire import WireStats, counting_connection
from rtlab.teaching.foreign import BOOKS, foreign_server

_spec = importlib.util.spec_from_file_location(
    "graphql_support", Path(__file__).with_name("graphql_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

POST = "query Post($id: ID!) { post(id: $id) { id title } }"


def url_of(server) -> str:
    return server.http_url("/graphql")


# -- a server that is not ours ------------------------------------------------------------------
@pytest.fixture
async def foreign() -> AsyncIterator[str]:
    """strawberry's own ASGI view on a free loopback port: no APQ, no batching."""
    async with foreign_server() as url:
        yield url


# -- batching ----------------------------------------------------------------------------------
async def test_fifty_queries_go_as_five_batches_and_each_caller_gets_its_own_answer(
        shared_server) -> None:
    async with BatchHttpLink(url_of(shared_server), max_size=10) as link:
        ids = [str(i % 40 + 1) for i in range(50)]  # 40 posts are seeded
        answers = await asyncio.gather(*(link.request(Operation.of(POST, {"id": i})) for i in ids))
        assert [a.data["post"]["id"] for a in answers] == ids
        assert link.batches == [10] * 5
        assert link.wire.round_trips == 5 and link.wire.operations == 50


async def test_one_failing_operation_fails_alone(shared_server) -> None:
    async with BatchHttpLink(url_of(shared_server), interval_ms=50) as link:
        good, bad_doc, bad_vars, good2 = await asyncio.gather(
            link.request(Operation.of(POST, {"id": "1"})),
            link.request(Operation.of("{ nope }")),
            link.request(Operation.of(POST, {"id": {"not": "an id"}})),
            link.request(Operation.of(POST, {"id": "2"})),
        )
        assert link.batches == [4] and link.wire.round_trips == 1
        assert good.data["post"]["id"] == "1" and good2.data["post"]["id"] == "2"
        assert bad_doc.data is None and bad_doc.error_codes() == ["GRAPHQL_VALIDATION_FAILED"]
        assert bad_vars.data is None and bad_vars.errors


RENAME = "mutation Rename($name: String!) { updateUser(input: {name: $name}) { id name } }"


async def test_mutations_go_alone_unless_asked_and_never_with_queries(lab_server) -> None:
    headers = support.bearer(support.login(lab_server))
    names = ["A", "B", "C"]
    async with BatchHttpLink(url_of(lab_server), headers=headers, interval_ms=50) as alone:
        await asyncio.gather(*(alone.request(Operation.of(RENAME, {"name": n})) for n in names))
        assert alone.wire.round_trips == 3 and alone.batches == []
    async with BatchHttpLink(url_of(lab_server), headers=headers, interval_ms=50,
                             batch_mutations=True) as together:
        renamed, _, post = await asyncio.gather(
            together.request(Operation.of(RENAME, {"name": "X"})),
            together.request(Operation.of(RENAME, {"name": "Y"})),
            together.request(Operation.of(POST, {"id": "1"})),
        )
        assert sorted(together.batches) == [1, 2]  # two mutations; the query on its own
        assert together.wire.round_trips == 2
        assert renamed.data["updateUser"]["name"] == "X" and post.data["post"]["id"] == "1"
    with pytest.raises(ValueError, match="subscription"):
        await together.request(Operation.of("subscription { postCreated { id } }"))


async def test_a_server_without_batching_fails_the_batch_but_not_a_batch_of_one(
        foreign) -> None:
    async with BatchHttpLink(foreign, interval_ms=50) as link:
        results = await asyncio.gather(
            *(link.request(Operation.of(BOOKS, {"n": n})) for n in (1, 2)),
            return_exceptions=True)
        assert all(isinstance(r, NetworkError) and r.status == 400 for r in results)
        alone = await link.request(Operation.of(BOOKS, {"n": 3}))
        assert [b["year"] for b in alone.data["books"]] == [2000, 2001, 2002]


# -- persisted queries and HTTP caching ---------------------------------------------------------
def unique(name: str) -> str:
    """A query the shared server has not stored yet (its APQ store lives as long as it does),
    of a realistic size: a hash (~100 bytes with its JSON) pays off only for documents larger
    than that."""
    return (f"query {name}($id: ID!) {{ user(id: $id) {{ id name email "
            f"posts(limit: 5) {{ id title createdAt commentCount author {{ id name }} }} }} }}")


async def test_apq_miss_then_hit_and_the_bytes_it_saves(shared_server) -> None:
    apq, http = PersistedQueryLink(), HttpLink(url_of(shared_server))
    link = chain(apq, http)
    op = Operation.of(unique("ApqBytes"), {"id": "1"})
    plain = HttpLink(url_of(shared_server))
    await plain.request(op)  # a warm connection for the plain request too
    before = plain.wire.bytes_up
    await plain.request(op)
    plain_bytes = plain.wire.bytes_up - before
    first = await link.request(op)
    assert first.data["user"]["id"] == "1"
    assert (http.requests, apq.misses, apq.full) == (2, 1, 1)  # the miss, then the document
    before = http.wire.bytes_up
    second = await link.request(op)
    hashed_bytes = http.wire.bytes_up - before
    assert second.data == first.data and http.requests == 3 and apq.misses == 1
    assert hashed_bytes < plain_bytes
    await http.close()
    await plain.close()


async def test_get_from_the_http_cache_without_a_request_then_revalidated_with_a_304(
        shared_server) -> None:
    apq = PersistedQueryLink(use_get=True)
    http = HttpLink(url_of(shared_server), http_cache=HttpCache())
    link = chain(apq, http)
    op = Operation.of(unique("ApqCache"), {"id": "2"})
    first = await link.request(op)  # GET miss (no-store), then the document by POST
    assert http.wire.round_trips == 2
    await link.request(op)  # GET by hash: a hit on the server, stored by the cache
    assert http.wire.round_trips == 3
    third = await link.request(op)  # fresh in the cache: no request at all
    assert third.data == first.data
    assert http.wire.round_trips == 3 and http.wire.from_cache == 1
    fourth = await link.request(op.with_headers({"Cache-Control": "no-cache"}))
    assert fourth.data == first.data
    assert http.wire.round_trips == 4 and http.wire.not_modified == 1  # a 304, no body
    await http.close()


async def test_a_changed_answer_replaces_the_cached_one_for_good(lab_server) -> None:
    """A revalidation answered 200 (the data changed) must replace the stored answer: the
    next ask from the cache shows the new data, not the answer it replaced (hishel 2.0.0
    keeps both and, within the same second of ``Date``, picks the old one)."""
    token = support.login(lab_server, "bob")
    http = HttpLink(url_of(lab_server), http_cache=HttpCache())
    link = chain(PersistedQueryLink(use_get=True), http)
    op = Operation.of(unique("Renamed"), {"id": "2"})
    for _ in range(3):  # miss + document, then a GET the cache stores, then from the cache
        assert (await link.request(op)).data["user"]["name"] == "Bob Brown"
    async with HttpLink(url_of(lab_server), headers=support.bearer(token)) as bob:
        await bob.request(Operation.of(RENAME, {"name": "Robert Brown"}))
    stale = await link.request(op)  # fresh in the cache: the old name, no request
    assert stale.data["user"]["name"] == "Bob Brown" and http.wire.round_trips == 3
    refreshed = await link.request(op.with_headers({"Cache-Control": "no-cache"}))
    assert refreshed.data["user"]["name"] == "Robert Brown"
    assert http.wire.round_trips == 4 and http.wire.not_modified == 0  # a 200: new data
    again = await link.request(op)
    assert again.data["user"]["name"] == "Robert Brown" and http.wire.round_trips == 4
    await http.close()


@pytest.mark.parametrize("shared", [False, True])
async def test_signed_in_answers_are_never_served_from_a_cache(shared_server, shared) -> None:
    token = support.login(shared_server)
    http = HttpLink(url_of(shared_server), headers=support.bearer(token),
                    http_cache=HttpCache(shared=shared))
    link = chain(PersistedQueryLink(use_get=True), http)
    op = Operation.of(unique(f"SignedIn{shared}"), {"id": "3"})
    for _ in range(3):
        assert (await link.request(op)).data["user"]["id"] == "3"
    assert http.wire.from_cache == 0 and http.wire.round_trips == 4  # miss + full, 2 more
    await http.close()


async def test_apq_falls_back_for_good_on_a_server_that_does_not_know_it(foreign) -> None:
    apq, http = PersistedQueryLink(use_get=True), HttpLink(foreign)
    link = chain(apq, http)
    first = await link.request(Operation.of(BOOKS, {"n": 2}))
    assert [b["title"] for b in first.data["books"]] == ["Book 0", "Book 1"]
    assert not apq.enabled and "HTTP 400" in (apq.disabled or "")
    assert http.requests == 2
    for n in (1, 2, 3):
        assert len((await link.request(Operation.of(BOOKS, {"n": n}))).data["books"]) == n
    assert http.requests == 5 and apq.hashed == 1  # plain requests from then on
    await http.close()


# -- de-duplication ----------------------------------------------------------------------------
async def test_identical_queries_in_flight_make_one_round_trip(shared_server) -> None:
    http = HttpLink(url_of(shared_server))
    link = chain(DedupLink(), http)
    same = await asyncio.gather(*(link.request(Operation.of(POST, {"id": "7"})) for _ in range(5)))
    assert http.wire.round_trips == 1 and {a.data["post"]["id"] for a in same} == {"7"}
    await asyncio.gather(*(link.request(Operation.of(POST, {"id": str(i)})) for i in range(5)))
    assert http.wire.round_trips == 6
    await http.close()


# -- bytes: counted at the socket, compression on and off --------------------------------------
async def test_counted_bytes_are_the_bytes_the_socket_carried() -> None:
    """A bare TCP server counts what it receives and sends a fixed answer; the link's
    counters must agree to the byte."""
    answer_body = json.dumps({"data": {"ok": True}}).encode()
    answer = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
              b"content-length: " + str(len(answer_body)).encode() + b"\r\n\r\n" + answer_body)
    received = bytearray()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        received.extend(head + await reader.readexactly(length))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with HttpLink(f"http://127.0.0.1:{port}/graphql") as link:
            response = await link.request(Operation.of("{ ok }"))
            assert response.data == {"ok": True}
            assert link.wire.bytes_up == len(received) > 100
            assert link.wire.bytes_down == len(answer)
            assert link.wire.connections == 1 and link.wire.round_trips == 1
    finally:
        server.close()
        await server.wait_closed()


BIG = "{ posts(limit: 100) { id title content createdAt author { id name } } }"


async def test_gzip_on_graphql_shrinks_big_answers(shared_server) -> None:
    sizes = {}
    for encoding in ("identity", "gzip"):
        async with HttpLink(url_of(shared_server), headers={"Accept-Encoding": encoding}) as link:
            answer = await link.request(Operation.of(BIG))
            assert len(answer.data["posts"]) > 10
            sizes[encoding] = link.wire.bytes_down
    assert sizes["gzip"] < sizes["identity"] / 2, sizes


async def test_permessage_deflate_shrinks_repetitive_websocket_messages(shared_server) -> None:
    message = json.dumps({"type": "news", "payload": {"items": [{"title": "same words"}] * 40}})
    down = {}
    for compression in (None, "deflate"):
        stats = WireStats()
        async with connect(shared_server.ws_url("/ws/echo"), compression=compression,
                           proxy=None, create_connection=counting_connection(stats)) as ws:
            for _ in range(20):
                await ws.send(message)
                assert await asyncio.wait_for(ws.recv(), 5) == message
        down[compression] = stats.bytes_down
        assert stats.connections == 1 and stats.bytes_up > 0
    assert down["deflate"] < down[None] / 3, down
