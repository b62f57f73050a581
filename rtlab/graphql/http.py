"""``HttpLink``: the terminating link for queries and mutations, on gql's httpx transport.

Headers that earlier links put in ``op.context["headers"]`` go on the request;
every way of not getting a GraphQL answer (refused, reset, timeout, a 5xx or a
body that is not a GraphQL response) becomes one :class:`NetworkError` with
the HTTP status when there was one, so the retry and error links can decide.
A JSON answer with ``errors`` is an answer, whatever its status, and comes back
as a :class:`Response`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from gql import GraphQLRequest
from gql.transport.exceptions import TransportError, TransportServerError
from gql.transport.httpx import HTTPXAsyncTransport

from rtlab.graphql.links import Forward, Link, NetworkError, Operation, Response


class HttpLink(Link):
    """POSTs each operation (JSON) to ``url``; ``close()`` releases the connection pool."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._transport: HTTPXAsyncTransport | None = None
        self.requests = 0  # how many requests went on the wire: notebooks count round trips

    async def _connected(self) -> HTTPXAsyncTransport:
        if self._transport is None:
            transport = HTTPXAsyncTransport(url=self.url, timeout=self.timeout)
            await transport.connect()
            self._transport = transport
        return self._transport

    async def request(self, op: Operation, forward: Forward | None = None) -> Response:
        transport = await self._connected()
        headers = {**self.headers, **op.context.get("headers", {})}
        request = GraphQLRequest(
            op.document,
            variable_values=dict(op.variables) or None,
            operation_name=op.operation_name,
            extensions=dict(op.extensions) or None,
        )
        self.requests += 1
        try:
            result = await transport.execute(request, extra_args={"headers": headers})
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
