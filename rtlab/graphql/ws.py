"""``WebSocketLink``: a minimal terminating link for subscriptions, on gql's websockets transport.

Enough for notebook 01's split link (subscriptions to the WebSocket, the rest to HTTP):
one connection opened on first use with the ``graphql-transport-ws`` subprotocol (gql
would otherwise settle on the legacy ``graphql-ws`` with strawberry), the token sent in
the ``connection_init`` payload, each subscription an async iterator of
:class:`~rtlab.graphql.links.Response`. Reconnecting, resubscribing and fresh tokens on
reconnect are the subject of notebook 03, not of this link.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gql import GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from rtlab.graphql.links import ForwardStream, Link, NetworkError, Operation, Response

Payload = Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]]


class WebSocketLink(Link):
    """Subscriptions over one ``graphql-transport-ws`` connection; ``close()`` ends it.

    ``init_payload`` is called when the connection opens (e.g. to put a fresh token in
    ``{"Authorization": "Bearer …"}``). Queries and mutations sent here are refused:
    route them to HTTP with :func:`rtlab.graphql.links.split`.
    """

    def __init__(self, url: str, *, init_payload: Payload | None = None,
                 connect_timeout: float = 5.0) -> None:
        self.url = url
        self.init_payload = init_payload
        self.connect_timeout = connect_timeout
        self._transport: WebsocketsTransport | None = None
        self._lock = asyncio.Lock()
        self.connections = 0
        self.subscriptions = 0

    async def _connected(self) -> WebsocketsTransport:
        async with self._lock:
            if self._transport is None:
                payload: dict[str, Any] = {}
                if self.init_payload is not None:
                    value = self.init_payload()
                    payload = await value if inspect.isawaitable(value) else value
                transport = WebsocketsTransport(
                    url=self.url, init_payload=payload, connect_timeout=self.connect_timeout,
                    close_timeout=1, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                )
                try:
                    await transport.connect()
                except Exception as exc:  # refused, 4403, timeout: not a GraphQL answer
                    code = _close_code(exc)
                    said = f"closed with {code[0]} {code[1]!r}" if code else repr(exc)
                    raise NetworkError(f"WebSocket {self.url}: {said}") from exc
                self._transport = transport
                self.connections += 1
            return self._transport

    async def request(self, op: Operation, forward: Any = None) -> Response:
        raise NetworkError(f"WebSocketLink carries subscriptions only, not a {op.kind}: "
                           "split queries and mutations off to HTTP")

    def subscribe(self, op: Operation, forward: ForwardStream | None = None
                  ) -> AsyncIterator[Response]:
        return self._stream(op)

    async def _stream(self, op: Operation) -> AsyncIterator[Response]:
        transport = await self._connected()
        request = GraphQLRequest(op.document, variable_values=dict(op.variables) or None,
                                 operation_name=op.operation_name)
        self.subscriptions += 1
        async for result in transport.subscribe(request):
            yield Response(data=result.data,
                           errors=[dict(e) if isinstance(e, dict) else {"message": str(e)}
                                   for e in (result.errors or [])],
                           extensions=dict(result.extensions or {}))

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()


def _close_code(exc: BaseException | None) -> tuple[int, str] | None:
    """The close code and reason the server sent, found anywhere in the exception chain."""
    seen = 0
    while exc is not None and seen < 10:
        rcvd = getattr(exc, "rcvd", None)
        if rcvd is not None:
            return rcvd.code, rcvd.reason
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
