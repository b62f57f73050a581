"""WS /graphql: strawberry's two subprotocol handlers with the gaps filled.

Both ``graphql-transport-ws`` (the current protocol) and legacy ``graphql-ws``
(subscriptions-transport-ws) are served; the client's list picks one. Close codes, the same
for both:

- 4403 Forbidden: ``connection_init`` carried a bad token (forged, expired, wrong type);
  a subscription to a protected field (``notificationReceived``) on a connection without a
  valid token; or the token of a signed-in connection expired (the client must reconnect
  with a fresh one — the server never keeps serving on a dead token).
- 4400: a malformed message (not JSON, nested deeper than :data:`servers.safejson.MAX_DEPTH`,
  not an object, no ``type``, bad ``subscribe`` / ``start`` payload, ``complete`` / ``stop``
  without a string ``id``, a ``connection_init``/``ping``/``pong`` payload that is not an
  object), with a reason that says which (made legal by :mod:`servers.closereason`: a quoted
  ``type`` may be long or hold lone surrogates). strawberry closed graphql-transport-ws with
  4400 already, but crashed on non-object JSON, a list ``id`` or deep JSON, and silently
  ignored bad frames on legacy graphql-ws. A null ``connection_init`` payload is accepted,
  as the protocol allows.
- 4408: no ``connection_init`` within :data:`INIT_TIMEOUT` seconds (the graphql-ws
  reference server's default of 3 s; strawberry waited a minute and never timed out legacy).

Auth: ``connection_init`` payload ``{"Authorization": "Bearer <JWT>"}`` (``authorization``
or ``headers.Authorization`` work too). No token = an anonymous connection: public
subscriptions work. Each acknowledged connection is counted by ``userPresenceUpdated``.
A subscriber that falls :data:`servers.graphql.pubsub.QUEUE_LIMIT` events behind has its
connection aborted, so it cannot slow anyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from servers import auth, badinput, safejson
from servers.graphql import limits
from servers.graphql.schema import PROTECTED_SUBSCRIPTIONS, Context, GraphQLApp

INIT_TIMEOUT = 3.0
FORBIDDEN = 4403
BAD_MESSAGE = 4400
INIT_TIMED_OUT = 4408


def bearer_from(payload: Mapping[str, Any]) -> str | None:
    """The ``Authorization`` value of a ``connection_init`` payload, if any."""
    headers = payload.get("headers")
    for source in (payload, headers if isinstance(headers, Mapping) else {}):
        for key in ("Authorization", "authorization"):
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def authenticate(ctx: Context, payload: Mapping[str, Any]) -> str | None:
    """Sets ``ctx.viewer`` from the payload's token; returns why it was refused, if it was."""
    header = bearer_from(payload)
    if header is None:
        return None  # anonymous: public subscriptions only
    try:
        ctx.viewer = auth.bearer_claims(header)
    except auth.AuthError as exc:
        ctx.auth_error = str(exc)
        return str(exc)
    return None


def protected_fields(query: str, operation_name: str | None) -> set[str]:
    """Root fields of the chosen operation that need a signed-in connection (a document
    that does not parse is left to strawberry, which reports it)."""
    try:
        document = parse(query, max_tokens=limits.MAX_TOKENS)
    except GraphQLError:
        return set()
    found: set[str] = set()
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        if operation_name and (node.name is None or node.name.value != operation_name):
            continue
        for selection in node.selection_set.selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            if name in PROTECTED_SUBSCRIPTIONS:
                found.add(name)
    return found


def subscribe_problem(message: Mapping[str, Any]) -> str | None:
    """Why a ``subscribe``/``start`` message is malformed, or None."""
    if not isinstance(message.get("id"), str) or not message["id"]:
        return f"`{message['type']}` needs a non-empty string `id`"
    payload = message.get("payload")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("query"), str):
        return f"`{message['type']}` needs a payload object with a string `query`"
    for key, kind in (("variables", Mapping), ("operationName", str)):
        if payload.get(key) is not None and not isinstance(payload[key], kind):
            return f"payload `{key}` has the wrong type"
    return None


def message_problem(message: Any) -> str | None:
    """Why a message of either subprotocol is malformed, or None. Ids must be non-empty
    strings wherever a message names an operation (strawberry would use a list as a dict key
    and crash, or ignore an object id); payloads of the handshake and ping/pong must be
    objects when present."""
    if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string `type`"
    kind = message["type"]
    if kind in ("complete", "stop") and (not isinstance(message.get("id"), str)
                                         or not message["id"]):
        return f"`{kind}` needs a non-empty string `id`"
    payload = message.get("payload")
    if kind in ("connection_init", "ping", "pong") and payload is not None and not isinstance(
        payload, Mapping
    ):
        return f"`{kind}` payload must be an object"
    return None


async def refuse(websocket: Any, reason: str) -> None:
    """Close with 4400 naming what was wrong (one log line, see :mod:`servers.badinput`)."""
    ws = getattr(websocket, "ws", websocket)  # strawberry's adapter wraps Starlette's
    badinput.report_scope(getattr(ws, "scope", {}), f"closed 4400: {reason}")
    await websocket.close(BAD_MESSAGE, reason)


async def read_messages(handler: Any) -> None:
    """Feed every decoded frame to ``handler.handle_message``; a binary or non-JSON frame
    closes with 4400 and says which (too deep, not UTF-8, a syntax error at ...)."""
    try:
        async for message in handler.websocket.iter_json():
            await handler.handle_message(message)
    except NonTextMessageReceived:
        await refuse(handler.websocket, "WebSocket message type must be text")
    except NonJsonMessageReceived as exc:
        await refuse(handler.websocket, f"WebSocket message must be valid JSON: {exc.__cause__}")


async def _guard(ctx: Context, message: Mapping[str, Any], close: Any) -> bool:
    """Close with 4403 when an unauthenticated connection subscribes to a protected field."""
    payload = message["payload"]
    wanted = protected_fields(payload["query"], payload.get("operationName"))
    if not wanted:
        return False
    expired = ctx.viewer is not None and ctx.viewer.get("exp", 0) <= ctx.app.clock()
    if ctx.viewer is None or expired:
        reason = "token expired" if expired else ctx.auth_error
        await close(FORBIDDEN, f"Forbidden: {', '.join(sorted(wanted))} needs a signed-in "
                               f"connection ({reason})")
        return True
    return False


class QuietAdapter(ASGIWebSocketAdapter):
    """strawberry's WebSocket adapter, quiet once the connection is closing: a subscription
    task racing a 4400/4403 close would otherwise send (or close) again, Starlette would raise
    "Cannot call send once a close message has been sent", and strawberry would log the task
    as failed. Nobody is left to receive those messages anyway."""

    def _closed(self) -> bool:
        return self.ws.application_state == WebSocketState.DISCONNECTED

    async def send_json(self, message: Mapping[str, object]) -> None:
        if not self._closed():
            await super().send_json(message)

    async def close(self, code: int, reason: str) -> None:
        if not self._closed():
            await super().close(code, reason)


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws with auth, 4403 for protected fields, 4400 for any bad frame."""

    async def handle(self) -> None:
        self.on_request_accepted()
        try:
            await read_messages(self)
        except WebSocketDisconnected:
            pass
        finally:
            await self.shutdown()

    async def handle_invalid_message(self, error_message: str) -> None:
        await refuse(self.websocket, error_message)

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is None and message["type"] == "subscribe":
            problem = subscribe_problem(message)
            if problem is None and self.connection_acknowledged:
                if await _guard(self.context, message, self.websocket.close):
                    return
        if problem is None and message["type"] == "connection_init":
            if message.get("payload") is None:  # the spec allows null; strawberry does not
                message = {**message, "payload": {}}
            payload = message.get("payload")
            if isinstance(payload, Mapping) and not self.connection_init_received:
                refused = authenticate(self.context, payload)
                if refused:
                    await self.websocket.close(code=FORBIDDEN, reason=f"Forbidden: {refused}")
                    return
        if problem:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)


class LegacyWSHandler(BaseGraphQLWSHandler):
    """Legacy graphql-ws with the same auth, close codes and init timeout."""

    init_received = False

    async def handle(self) -> None:
        timer = asyncio.create_task(self._init_timeout())
        try:
            await read_messages(self)
        except WebSocketDisconnected:
            pass
        finally:
            timer.cancel()
            if self.keep_alive_task:
                self.keep_alive_task.cancel()
                with contextlib.suppress(BaseException):
                    await self.keep_alive_task
            await self.cleanup()

    async def _init_timeout(self) -> None:
        await asyncio.sleep(INIT_TIMEOUT)
        if not self.init_received:
            with contextlib.suppress(Exception):
                await self.websocket.close(INIT_TIMED_OUT, "Connection initialisation timeout")

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem:
            await refuse(self.websocket, problem)
            return
        kind = message["type"]
        if kind == "connection_init":
            self.init_received = True
            payload = message.get("payload")
            if isinstance(payload, Mapping):
                refused = authenticate(self.context, payload)
                if refused:
                    await self.send_message({"type": "connection_error",
                                             "payload": {"message": f"Forbidden: {refused}"}})
                    await self.websocket.close(FORBIDDEN, f"Forbidden: {refused}")
                    return
        elif kind == "start":
            problem = subscribe_problem(message)
            if problem:
                await refuse(self.websocket, problem)
                return
            if self.connection_acknowledged and await _guard(
                self.context, message, self.websocket.close
            ):
                return
        elif kind not in ("connection_terminate", "stop"):
            await self.send_message({
                "type": "error", "id": message.get("id"),
                "payload": {"message": f"unknown message type {badinput.shorten(repr(kind), 80)}"},
            })
            return
        await super().handle_message(message)


    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """strawberry's legacy handler runs subscriptions only; the protocol also carries
        queries and mutations (one ``data`` then ``complete``), as graphql-transport-ws does."""
        try:
            source = await self.schema.stream(
                query, variable_values=variables, operation_name=operation_name,
                context_value=self.context, root_value=self.root_value,
            )
            self.subscriptions[operation_id] = source
            first = True
            async for result in source:
                if first and isinstance(result, PreExecutionError):
                    assert result.errors
                    await self.send_message({"type": "error", "id": operation_id,
                                             "payload": result.errors[0].formatted})
                    return
                await self.send_data_message(result, operation_id)
                first = False
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.send_message({"type": "complete", "id": operation_id})
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)


class GraphQLWebSocket(GraphQL):
    """strawberry's ASGI app, used for WebSocket only (HTTP is :mod:`endpoint`)."""

    websocket_adapter_class = QuietAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def decode_json(self, data: str | bytes) -> object:
        """Every frame through :func:`servers.safejson.loads`: too deep, NaN, not UTF-8 all
        raise its ``JSONDecodeError`` subclass, which strawberry turns into
        ``NonJsonMessageReceived`` (and :func:`read_messages` into a 4400 that says why)."""
        return safejson.loads(data)

    def __init__(self, schema: Any, app: GraphQLApp) -> None:
        super().__init__(
            schema, graphql_ide=None,
            connection_init_wait_timeout=timedelta(seconds=INIT_TIMEOUT),
            max_subscriptions_per_connection=limits.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self.app = app

    async def get_context(self, request: Any, response: Any) -> Context:
        ctx = Context(self.app, websocket=request, on_overflow=lambda: _evict(request))
        request.state.graphql_context = ctx
        return ctx

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        app = self.app
        user_id = str(context.viewer["sub"]) if context.viewer else app.presence.guest_id()
        context.presence_id = user_id
        await app.pubsub.publish("presence", app.presence.connect(user_id, app.clock()))
        if context.viewer is not None:
            delay = max(0.0, float(context.viewer["exp"]) - app.clock())
            loop = asyncio.get_running_loop()
            context.expiry = loop.call_later(
                delay, lambda: loop.create_task(
                    _close_quietly(context.websocket, FORBIDDEN, "Forbidden: token expired")
                ),
            )
        return UNSET

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        finally:
            ctx: Context | None = getattr(request.state, "graphql_context", None)
            if ctx is not None:
                if ctx.expiry is not None:
                    ctx.expiry.cancel()
                if ctx.presence_id is not None:
                    event = self.app.presence.disconnect(ctx.presence_id, self.app.clock())
                    ctx.presence_id = None
                    await self.app.pubsub.publish("presence", event)


async def _close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason)


def _evict(ws: WebSocket) -> None:
    """Drop a connection that cannot keep up: abort its transport (the client sees 1006)."""
    ext = ws.scope.get("extensions", {}).get("rtlab.transport")
    if ext is not None:
        ext["transport"].abort()
    else:
        asyncio.get_running_loop().create_task(
            _close_quietly(ws, 1013, "too slow: subscription events dropped")
        )
