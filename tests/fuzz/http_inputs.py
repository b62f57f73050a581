"""Bad inputs for the HTTP protocols: GraphQL over HTTP (GET, POST, batches, APQ), ``/auth/*``,
``/_chaos/*``, SSE query parameters and headers, and raw HTTP / WebSocket handshakes over bare
TCP (huge and odd headers, bad targets, garbage, truncation).

Each protocol has ``make(gen) -> dict`` (the input, printable, built from a seeded
:class:`~values.Gen`) and ``async send(case, ctx) -> Outcome``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from typing import Any
from urllib.parse import quote

from tests.fuzz.values import Gen, Raw
from tests.fuzz.wire import Outcome, raw_exchange, request

DOCS = (
    "{ posts { id title } }",
    "query GetUser($userId: ID!) { user(id: $userId) { id name posts(limit: 10) { id title } } }",
    'mutation { createPost(input: {title: "fuzz", content: "x"}) { id } }',
    "{ me { id name } }",
    "query A { __typename } query B { posts { id } }",
    '{ chatRoom(id: "general") { id messages(limit: 5) { id content sender { name } } } }',
    "{ __schema { types { name fields { name } } } }",
    "subscription { postCreated { id } }",
    '{ post(id: "1") { id comments { id author { name } } } }',
    "fragment F on Post { id ...G } fragment G on Post { ...F } { posts { ...F } }",
    "{ ...Missing }",
    "query Q($n: Int) { posts(limit: $n) { id } }",
    "{ posts(limit: 100) { author { posts(limit: 100) { author { posts(limit: 100) { id } } } } }"
    " }",
    '{ a: posts { id } b: posts { id } c: user(id: "1") { name } }',
    "query Q($n: Int = 3) { posts(limit: $n, offset: $n) { id title author { postCount } } }",
    '{ user(id: "\\uD800") { id } }',
    "{ posts(limit: 99999999999999999999999999999) { id } }",
    "{ notifications { id } }",
    'mutation M($id: ID!) { markNotificationRead(id: $id) { id } }',
)
MAX_URL = 60_000
NAMES = ("GetUser", "A", "B", "Q", "M", "Nope", "", "__proto__", "a" * 300)
CONTENT_TYPES = ("application/json",) * 12 + (
    "application/json; charset=utf-16", "text/plain", "application/graphql",
    "multipart/form-data; boundary=x", "", "application/json;;;", "APPLICATION/JSON")


def query_string(params: dict[str, Any]) -> str:
    """Percent-encoded (lone surrogates as their bytes), cut to what httpx sends (64 KB);
    longer targets are the raw handshake protocol's job."""
    qs = "&".join(f"{quote(k)}={quote(str(v).encode('utf-8', 'surrogatepass'))}"
                  for k, v in params.items())
    return re.sub(r"%[0-9A-Fa-f]?$", "", qs[:MAX_URL])


def gql_document(gen: Gen) -> Any:
    """A GraphQL document: one of the course's, mutated, deep, wide, huge — or not a string."""
    kind = gen.rng.randrange(10)
    doc = gen.pick(DOCS)
    if kind < 3:
        return doc
    if kind < 5:
        return gen.mutate(doc)
    if kind == 5:
        n = gen.pick((9, 20, 200, 2000))
        return "{ " + "posts { author { " * n + "id" + " } }" * n + " }"
    if kind == 6:
        n = gen.pick((31, 100, 1000))
        return "{ " + " ".join(f"a{i}: posts(limit: 100) {{ id }}" for i in range(n)) + " }"
    if kind == 7:
        n = gen.pick((10, 40))
        frags = " ".join(f"fragment F{i} on Post {{ id ...F{i + 1} ...F{i + 1} }}"
                         for i in range(n))
        return f"{{ posts {{ ...F0 }} }} {frags} fragment F{n} on Post {{ id }}"
    if kind == 8:
        return gen.text()
    return gen.value()  # not a string at all (Raw JSON)


def gql_operation(gen: Gen) -> dict[str, Any]:
    op: dict[str, Any] = {}
    if gen.chance(0.9):
        op["query"] = gql_document(gen)
    if gen.chance(0.5):
        op["variables"] = gen.pick(({"userId": "1"}, {"n": gen.number()}, {"id": gen.string()},
                                    gen.value(), gen.obj(), gen.deep(), None))
    if gen.chance(0.3):
        op["operationName"] = gen.pick(NAMES) if gen.chance(0.7) else gen.value()
    if gen.chance(0.3):
        op["extensions"] = apq_extension(gen, op.get("query"))
    if gen.chance(0.05):
        op[gen.text(40)] = gen.value()
    return op


def apq_extension(gen: Gen, query: Any) -> Any:
    text = query if isinstance(query, str) and not isinstance(query, Raw) else "{ posts { id } }"
    good = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    digest = gen.pick((good, good.upper(), "0" * 64, "z" * 64, good[:63], good + "0",
                       "é" * 64, Raw('"' + "\\ud800" * 64 + '"'), gen.value(), None))
    pq: Any = {"version": gen.pick((1, 1, 2, "1", None, gen.number())), "sha256Hash": digest}
    if gen.chance(0.1):
        pq = gen.value()
    return {"persistedQuery": pq} if gen.chance(0.9) else gen.value()


class GraphQLHTTP:
    name = "graphql-http"

    def make(self, gen: Gen) -> dict[str, Any]:
        method = gen.pick(("POST",) * 8 + ("GET",) * 3 + ("PUT", "DELETE"))
        accept = gen.pick(("application/json", "application/graphql-response+json", "*/*",
                           gen.header_value().decode("latin-1")))
        if method == "GET":
            params = {}
            for key in ("query", "variables", "operationName", "extensions"):
                if gen.chance(0.6):
                    value = gql_document(gen) if key == "query" else gen.value()
                    params[key] = value if not gen.chance(0.3) else gen.mutate(str(value))
            return {"method": "GET", "params": params, "accept": accept}
        kind = gen.rng.randrange(10)
        if kind < 6:
            body = gen.dumps(gql_operation(gen))
        elif kind < 8:
            body = gen.dumps([gql_operation(gen) if gen.chance(0.8) else gen.value()
                              for _ in range(gen.pick((0, 1, 2, 5, 20, 21, 100)))])
        elif kind == 8:
            body = gen.mutate(gen.dumps(gql_operation(gen)))
        else:
            body = gen.value()
        return {"method": method, "body": str(body), "content_type": gen.pick(CONTENT_TYPES),
                "accept": accept, "as_bytes": gen.chance(0.1)}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        headers: dict[str, Any] = {"accept": case["accept"].encode("latin-1")}
        if case["method"] == "GET":
            qs = query_string(case["params"])
            await request(ctx.http, outcome, "GET", ctx.target.http(f"/graphql?{qs}"),
                          headers=headers)
            return outcome
        if case["content_type"]:
            headers["content-type"] = case["content_type"]
        body = case["body"].encode("utf-8", "surrogatepass")
        if case["as_bytes"]:
            body = body[: len(body) // 2] + b"\xff\xfe" + body[len(body) // 2:]
        await request(ctx.http, outcome, case["method"], ctx.target.http("/graphql"),
                      content=body, headers=headers)
        return outcome


class Auth:
    name = "auth"

    def make(self, gen: Gen) -> dict[str, Any]:
        path = gen.pick(("/auth/login", "/auth/refresh", "/auth/me", "/auth/nope"))
        if path == "/auth/me":
            return {"method": "GET", "path": path, "authorization": gen.header_value()}
        fields = {"username": gen.pick(("alice", "bob", "zed", "", gen.string(), gen.value())),
                  "password": gen.pick(("password", "pässword", "\\ud800", gen.string(),
                                        gen.value(), "p" * 70_000)),
                  "refresh_token": gen.pick((gen.string(), gen.value(), "x" * 100))}
        body = gen.dumps({k: v for k, v in fields.items() if gen.chance(0.7)})
        if gen.chance(0.3):
            body = gen.pick((gen.mutate(body), gen.value(), gen.deep(), ""))
        return {"method": gen.pick(("POST",) * 6 + ("GET", "PUT")), "path": path,
                "body": str(body), "content_type": gen.pick(CONTENT_TYPES)}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        url = ctx.target.http(case["path"])
        if "authorization" in case:
            await request(ctx.http, outcome, case["method"], url,
                          headers={"authorization": case["authorization"]})
        else:
            await request(ctx.http, outcome, case["method"], url,
                          content=case["body"].encode("utf-8", "surrogatepass"),
                          headers={"content-type": case["content_type"] or "application/json"})
        return outcome


class Chaos:
    """``/_chaos/*``; run alone (``exclusive``) and undone after every accepted fault, so a
    valid input cannot break the other protocols' inputs."""

    name = "chaos"
    exclusive = True
    ENDPOINTS = ("drop", "latency", "reject", "freeze", "thaw", "reset", "stats", "nope")

    def make(self, gen: Gen) -> dict[str, Any]:
        fields = {"protocol": gen.pick(("ws", "all", "carrier-pigeon", ["ws"], {"p": 1}, None,
                                        gen.string(), gen.value())),
                  "mode": gen.pick(("abort", "close", ["close"], 1, gen.value())),
                  "ms": gen.pick((0, 1, -1, 60_001, "5", True, [], gen.number(), gen.value())),
                  "status": gen.pick((503, 200, 600, 503.5, "503", False, gen.number())),
                  "seconds": gen.pick((0, 1, -1, 3601, "1", None, gen.number()))}
        body = gen.dumps({k: v for k, v in fields.items() if gen.chance(0.5)})
        if gen.chance(0.3):
            body = gen.pick((gen.mutate(body), gen.value(), gen.deep(), "", "x" * 5000))
        endpoint = gen.pick(self.ENDPOINTS)
        method = "GET" if endpoint == "stats" and gen.chance(0.7) else gen.pick(
            ("POST",) * 5 + ("GET", "DELETE"))
        return {"method": method, "endpoint": endpoint, "body": str(body)}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        response = await request(ctx.http, outcome, case["method"],
                                 ctx.target.http(f"/_chaos/{case['endpoint']}"),
                                 content=case["body"].encode("utf-8", "surrogatepass"),
                                 headers={"content-type": "application/json"})
        if response is not None and response.status_code < 300:
            await request(ctx.http, outcome, "POST", ctx.target.http("/_chaos/reset"))
        return outcome


NUMBERS = ("nan", "NaN", "inf", "-inf", "Infinity", "-1", "0", "1e309", "1e-309", "abc", "",
           "0x10", "1_0", "٣", "9" * 5000, "0.5", "2", "100000", "-0", " 1", "1e2", "0.0001",
           "31", "1.", ".5", "+1", "1e", "--1")


class SSE:
    name = "sse"

    def make(self, gen: Gen) -> dict[str, Any]:
        path = gen.pick(("/sse/news", "/sse/ticker", "/sse/stats", "/sse/stats", "/sse/nope"))
        params = {}
        for key in ("interval", "retry", "ping", "status", "auth", "lastEventId", "streams",
                    "timeout"):
            if gen.chance(0.35):
                params[key] = gen.pick(NUMBERS) if gen.chance(0.8) else gen.text(100)
        if path == "/sse/stats" and "streams" in params and params.get("timeout") not in (
            "nan", "inf", "-1", "1e309", "abc", "٣", "31"
        ):
            params["timeout"] = "0.3"  # a valid wait (5 s by default) is no bad input
        headers = {}
        for key in ("last-event-id", "authorization", "accept"):
            if gen.chance(0.3):
                headers[key] = gen.header_value()
        return {"path": path, "params": params, "headers": headers}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        qs = query_string(case["params"])
        url = ctx.target.http(f"{case['path']}?{qs}")
        try:
            async with ctx.http.stream("GET", url, headers=case["headers"], timeout=5) as r:
                outcome.statuses.append(r.status_code)
                async for _chunk in r.aiter_raw():
                    outcome.received += 1
                    break  # the first block is enough: a stream that starts is a stream
        except Exception as exc:  # noqa: BLE001 - any client-visible failure is the finding
            outcome.drop(f"no SSE answer ({type(exc).__name__}: {exc})")
        return outcome


def _ws_key(gen: Gen) -> bytes:
    return gen.pick((base64.b64encode(os.urandom(16)), b"short", b"", b"!!!!", b"a" * 200))


class Handshake:
    """Raw bytes over TCP: WebSocket upgrades and plain requests with odd heads."""

    name = "handshake"
    PATHS = (b"/ws/echo", b"/graphql", b"/socket.io/?EIO=4&transport=websocket", b"/nope",
             b"/ws/%FF%00", b"/" + b"a" * 9000, b"/sse/news", b"/auth/me", b"*", b"/%",
             b"/ws/echo?" + b"x=" * 3000, b"//..//", b"/_chaos/stats")

    def make(self, gen: Gen) -> dict[str, Any]:
        kind = gen.rng.randrange(8)
        if kind == 7:  # not HTTP at all, or cut short
            data = gen.pick((gen.blob(), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                             b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET /ws/echo HTTP/1.1\r\n",
                             b"\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
            return {"data": data.decode("latin-1"), "complete": data.endswith(b"\r\n\r\n")
                    and data.startswith(b"PRI")}
        path = gen.pick(self.PATHS)
        upgrade = gen.chance(0.75)
        lines = [gen.pick((b"GET", b"GET", b"POST", b"OPTIONS", b"G\xc3\xa9T")) + b" " + path
                 + b" " + gen.pick((b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9")),
                 b"Host: 127.0.0.1"]
        if upgrade:
            lines += [b"Upgrade: " + gen.pick((b"websocket", b"WebSocket", b"h2c", b"ws, x")),
                      b"Connection: " + gen.pick((b"Upgrade", b"upgrade, keep-alive", b"close")),
                      b"Sec-WebSocket-Key: " + _ws_key(gen),
                      b"Sec-WebSocket-Version: " + gen.pick((b"13", b"8", b"", b"13, 8"))]
            if gen.chance(0.3):
                lines.append(b"Sec-WebSocket-Protocol: " + gen.header_value())
        extra = gen.rng.randrange(6)
        if extra == 0:
            lines.append(b"X-Big: " + b"a" * gen.pick((8000, 8193, 9000, 12000, 17000)))
        elif extra == 1:
            lines += [b"X-H%d: v" % i for i in range(gen.pick((100, 129, 200)))]
        elif extra == 2:
            lines.append(b"X-Odd: " + gen.header_value())
        elif extra == 3:
            lines.append(gen.pick((b"Bad Header: x", b": empty-name", b"X-Dup: a\r\nX-Dup: b",
                                   b"Content-Length: -1", b"Transfer-Encoding: chunked")))
        data = b"\r\n".join(lines) + b"\r\n\r\n"
        waits_for_body = b"Transfer-Encoding: chunked" in data  # a request still unfinished
        return {"data": data.decode("latin-1"), "complete": not waits_for_body}

    async def send(self, case: dict[str, Any], ctx: Any) -> Outcome:
        outcome = Outcome()
        await raw_exchange(case["data"].encode("latin-1"), ctx.target.port, outcome,
                           expect_answer=case["complete"])
        return outcome
