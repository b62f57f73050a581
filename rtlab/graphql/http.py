"""``HttpLink``: the terminating link for queries and mutations, on gql's httpx transport.

Headers that earlier links put in ``op.context["headers"]`` go on the request;
every way of not getting a GraphQL answer (refused, reset, timeout, a 5xx or a
body that is not a GraphQL response) becomes one :class:`NetworkError` with
the HTTP status when there was one, so the retry and error links can decide.
A JSON answer with ``errors`` is an answer, whatever its status, and comes back
as a :class:`Response`.

``op.context["http"]`` says how to send one operation, as Apollo's ``http`` context
does (the :class:`~rtlab.graphql.persisted.PersistedQueryLink` sets it):
``include_query=False`` leaves the document out (a persisted-query hash stands for
it), ``method="GET"`` sends it as query parameters (GraphQL over HTTP, §GET), so HTTP
caches can serve it. gql's transport only POSTs, so GET goes through the same httpx
client directly, its parameters added to the URL's own query (a classroom's join token).

Every link counts what it sends in ``wire`` (:mod:`rtlab.graphql.wire`): its sockets
are counted, and ``http_cache`` (:mod:`rtlab.graphql.httpcache`) puts an RFC 9111
cache in front of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from gql import GraphQLRequest
from gql.transport.exceptions import TransportError, TransportServerError
from gql.transport.httpx import HTTPXAsyncTransport

from rtlab import urls
from rtlab.graphql.httpcache import HttpCache
from rtlab.graphql.links import Forward, Link, NetworkError, Operation, Response
from rtlab.graphql.wire import CountingTransport, WireStats


def graphql_request(op: Operation) -> GraphQLRequest:
    return GraphQLRequest(
        op.document,
        variable_values=dict(op.variables) or None,
        operation_name=op.operation_name,
        extensions=dict(op.extensions) or None,
    )


def payload_of(request: GraphQLRequest, include_query: bool = True) -> dict[str, Any]:
    """The JSON body (or GET parameters): gql's own encoding, minus the query if asked."""
    payload = request.payload
    if not include_query:
        payload.pop("query", None)
    return payload


#: What a GET asks for (GraphQL over HTTP §Accept): without it a server may answer a GET
#: that has no ``query`` with its HTML IDE (strawberry serves GraphiQL with a 200).
GET_ACCEPT = "application/graphql-response+json, application/json;q=0.9"


def get_params(payload: Mapping[str, Any]) -> dict[str, str]:
    """GraphQL over HTTP GET parameters: strings as they are, objects as compact JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
            for k, v in payload.items()}


def answer_of(response: httpx.Response, url: str) -> Response:
    """A GraphQL answer from an HTTP response, or the :class:`NetworkError` it amounts to."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        status = response.status_code if response.status_code >= 400 else None
        raise NetworkError(f"HTTP {response.status_code} from {url} is not a GraphQL answer: "
                           f"{response.text[:200]!r}", status)
    return Response(data=body.get("data"), errors=[dict(e) for e in body.get("errors") or []],
                    extensions=dict(body.get("extensions") or {}))


class HttpLink(Link):
    """Sends each operation to ``url`` (POST JSON, or GET when the context asks).

    ``wire`` counts operations, requests, round trips and socket bytes (a fresh
    :class:`WireStats` unless given); ``http_cache`` (an :class:`HttpCache`, or True
    for a private one) serves GET answers as their ``Cache-Control`` allows.
    ``close()`` releases the connection pool.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0, wire: WireStats | None = None,
                 http_cache: HttpCache | bool | None = None) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.wire = wire if wire is not None else WireStats(name=url)
        self.http_cache = HttpCache() if http_cache is True else (http_cache or None)
        self._transport: HTTPXAsyncTransport | None = None

    @property
    def requests(self) -> int:
        """How many HTTP requests this link issued (a batch is one): notebooks count them."""
        return self.wire.requests

    async def _connected(self) -> HTTPXAsyncTransport:
        if self._transport is None:
            network: httpx.AsyncBaseTransport = CountingTransport(self.wire)
            if self.http_cache is not None:
                network = await self.http_cache.wrap(network)
            transport = HTTPXAsyncTransport(url=self.url, timeout=self.timeout,
                                            transport=network)
            await transport.connect()
            self._transport = transport
        return self._transport

    def headers_for(self, op: Operation) -> dict[str, str]:
        return {**self.headers, **op.context.get("headers", {})}

    async def request(self, op: Operation, forward: Forward | None = None) -> Response:
        transport = await self._connected()
        options = op.context.get("http", {})
        include_query = options.get("include_query", True)
        method = str(options.get("method", "POST")).upper()
        if method == "GET" and op.kind == "mutation":
            raise ValueError("a mutation must not be sent with GET (GET must not change anything)")
        self.wire.operation(op.kind)
        self.wire.request(method)
        request = graphql_request(op)
        headers = self.headers_for(op)
        try:
            if method == "GET":
                assert transport.client is not None
                url = urls.with_params(self.url, get_params(payload_of(request, include_query)))
                http = await transport.client.get(url, headers={"Accept": GET_ACCEPT, **headers})
                return answer_of(http, self.url)
            extra: dict[str, Any] = {"headers": headers}
            if not include_query:
                extra["json"] = payload_of(request, include_query=False)
            result = await transport.execute(request, extra_args=extra)
        except NetworkError:
            raise  # already says what happened (it is an OSError: keep it from the clause below)
        except TransportServerError as exc:
            raise NetworkError(f"HTTP {exc.code} from {self.url}: {exc}", exc.code) from exc
        except (TransportError, httpx.TransportError, OSError) as exc:
            raise NetworkError(f"no GraphQL answer from {self.url}: {exc!r}") from exc
        return Response(
            data=result.data,
            errors=[dict(e) for e in (result.errors or [])],
            extensions=dict(result.extensions or {}),
        )

    async def close(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()

    async def __aenter__(self) -> HttpLink:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
