"""Notebook 07's measuring helpers against real servers: the numbers they report are the
ones the sockets and the servers saw.

A bare TCP server that records what it receives checks the body sizes; the demo server
checks the counts, the exchange log and the caching headers; strawberry's own server (not
ours, no APQ) checks that a refused request shows up as what it was.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

from rtlab.graphql.batch import BatchHttpLink
from rtlab.graphql.http import HttpLink
from rtlab.graphql.httpcache import HttpCache
from rtlab.graphql.links import Operation, chain
from rtlab.graphql.persisted import PersistedQueryLink
from rtlab.teaching import compression, measure
from rtlab.teaching.exchanges import ExchangeLog, caching_headers
from rtlab.teaching.foreign import BOOKS, foreign_server

_spec = importlib.util.spec_from_file_location(
    "graphql_support", Path(__file__).with_name("graphql_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

POST = "query Post($id: ID!) { post(id: $id) { id title } }"


async def test_body_bytes_are_the_bytes_the_server_received() -> None:
    bodies: list[bytes] = []
    answer = json.dumps({"data": {"ok": True}}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed its keep-alive connection
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            bodies.append(await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(answer), answer))
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"
    op = Operation.of(measure.PROFILE_PAGE, {"userId": "1"})
    try:
        async with HttpLink(url) as http:
            await http.request(op)
            await chain(PersistedQueryLink(), http).request(op)  # answered: hash only
    finally:
        server.close()
    assert [len(b) for b in bodies] == [measure.body_bytes(op),
                                        measure.body_bytes(op, hashed=True)]
    assert b"sha256Hash" in bodies[1] and b"fragment" not in bodies[1]
    assert measure.body_bytes(op, hashed=True) < measure.body_bytes(op) / 3


async def test_send_counts_what_reached_the_server_and_keeps_the_answers_in_order(
        shared_server) -> None:
    url = shared_server.http_url("/graphql")
    ops = [Operation.of(POST, {"id": str(n)}) for n in range(1, 13)]
    async with HttpLink(url) as serial, BatchHttpLink(url, max_size=5) as batched:
        one_by_one = await measure.send("one by one", serial, ops, at_once=False)
        again = await measure.send("again", serial, ops[:2], at_once=False)
        grouped = await measure.send("batched", batched, ops)
    assert (one_by_one.operations, one_by_one.requests, one_by_one.round_trips) == (12, 12, 12)
    assert one_by_one.connections == 1 and again.connections == 0  # kept alive
    assert again.round_trips == 2  # differences, not totals
    assert grouped.round_trips == 3 and batched.batches == [5, 5, 2]
    assert grouped.bytes_up < one_by_one.bytes_up
    assert [a.data["post"]["id"] for a in grouped.answers] == [str(n) for n in range(1, 13)]
    assert grouped.seconds > 0


async def test_exchange_log_tells_a_miss_a_stored_answer_a_cache_hit_and_a_304(
        shared_server) -> None:
    url = shared_server.http_url("/graphql")
    op = Operation.of("query LogCard($id: ID!) { user(id: $id) { id name email } }",
                      {"id": "3"})
    async with HttpLink(url, http_cache=HttpCache()) as http:
        log = ExchangeLog(http)
        link = chain(PersistedQueryLink(use_get=True), log, http)
        for _ in range(3):
            await link.request(op)
        await link.request(op.with_headers({"Cache-Control": "no-cache"}))
    rows = [(r.method, r.carried, r.wire, r.answer) for r in log.rows]
    assert rows == [("GET", "hash", "round trip", "PersistedQueryNotFound"),
                    ("POST", "hash + document", "round trip", "data"),
                    ("GET", "hash", "round trip", "data"),
                    ("GET", "hash", "from the cache", "data"),
                    ("GET", "hash", "304", "data")]
    assert log.rows[3].bytes_up == 0 and log.rows[2].bytes_up > 0
    assert 0 < log.rows[4].bytes_down < log.rows[2].bytes_down  # a 304 has no body
    said = await caching_headers(url, op)
    assert said["cache-control"] == "public, max-age=5" and said["etag"].startswith('W/"')
    token = support.login(shared_server)
    assert (await caching_headers(url, op, headers=support.bearer(token))) == {
        "cache-control": "private, no-store"}
    unknown = Operation.of('query NotStoredYet { user(id: "1") { id } }')
    assert (await caching_headers(url, unknown))["cache-control"] == "no-store"


async def test_exchange_log_records_a_refused_request_on_a_server_that_is_not_ours() -> None:
    async with foreign_server() as url, HttpLink(url) as http:
        apq, log = PersistedQueryLink(use_get=True), ExchangeLog(http)
        answers = [await chain(apq, log, http).request(Operation.of(BOOKS, {"n": n}))
                   for n in (1, 2)]
    assert [len(a.data["books"]) for a in answers] == [1, 2]
    assert [(r.method, r.carried, r.answer) for r in log.rows] == [
        ("GET", "hash", "HTTP 400"), ("POST", "hash + document", "data"),
        ("POST", "document", "data")]


async def test_compression_helpers_count_fewer_bytes_with_compression_and_read_server_cpu(
        shared_server) -> None:
    url, echo, pid = (shared_server.http_url("/graphql"), shared_server.ws_url("/ws/echo"),
                      shared_server.pid)
    http_off = await compression.http_answers(url, "identity", 3, pid)
    http_on = await compression.http_answers(url, "gzip", 3, pid)
    ws_off = await compression.ws_echoes(echo, None, 20, pid)
    ws_on = await compression.ws_echoes(echo, "deflate", 20, pid)
    assert http_on.per_message("down") < http_off.per_message("down") / 3
    assert ws_on.per_message() < ws_off.per_message() / 3
    assert ws_off.per_message("up") > len(compression.news_message(0))  # frames + handshake
    assert http_off.server_cpu is not None and http_off.server_cpu > 0  # Linux: /proc
    body = await compression.answer_body(url)
    assert len(body) > 5000 and json.loads(body)["data"]["posts"]
