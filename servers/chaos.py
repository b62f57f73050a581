"""/_chaos/*: break the link on purpose (lab mode only), and the ASGI middleware that counts
messages and refuses new connections while a ``reject`` is active.

Requests and answers (all JSON; a bad body answers 400 ``{"error": "..."}``):

- ``POST /_chaos/drop {"protocol": "ws"|"graphql"|"socketio"|"sse"|"http"|"all",
  "mode": "abort"|"close"}`` -> ``{"dropped": n, "protocol": ..., "mode": ...}``.
  abort = TCP reset with no close frame (clients see 1006); close = close frame 1012.
  Defaults: protocol "all", mode "abort".
- ``POST /_chaos/latency {"ms": n}`` -> ``{"latency_ms": n}``; delays every outgoing write
  (handshakes, messages, pongs) of every connection by n ms; 0 turns it off.
- ``POST /_chaos/freeze`` -> ``{"frozen": true, "connections": n}``; open connections stop
  reading and writing without closing (no pongs either). Later connections are not frozen.
- ``POST /_chaos/thaw`` -> ``{"frozen": false, "connections": n}``.
- ``POST /_chaos/reject {"status": 503, "seconds": 5}`` -> ``{"status": 503, "seconds": 5}``;
  new HTTP requests and WebSocket handshakes (except /_chaos) get that status.
- ``POST /_chaos/reset`` -> the stats below, after undoing all of the above.
- ``GET /_chaos/stats`` -> ``{"ws": n, "graphql": n, "socketio": n, "sse": n, "http": n,
  "connections": {the same five counts}, "endpoints": {"/ws/echo": n, ...},
  "messages": {"in": n, "out": n}, "frozen": bool, "latency_ms": n,
  "reject": {"status": s, "remaining": seconds} | null}``.

/_chaos/* itself is never frozen, delayed, rejected or dropped, so ``thaw`` always works.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from servers import badinput, httpjson, protocols, safejson
from servers.httpjson import JSONResponse
from servers.transport import Registry

if TYPE_CHECKING:
    from servers.app import Server

#: what ``/_chaos/drop`` accepts: every protocol chaos can break (from the one table), or all
PROTOCOLS = protocols.FAULT_NAMES | {"all"}
PREFIX = protocols.prefix("chaos")
MAX_LATENCY_MS = 60_000
MAX_REJECT_SECONDS = 3600


class ChaosState:
    """Faults in force plus message counters, shared by the middleware and the routes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.messages_in = 0
        self.messages_out = 0
        self.reject_status = 0
        self.reject_until = 0.0

    def rejecting(self) -> int:
        return self.reject_status if time.monotonic() < self.reject_until else 0

    def reset(self) -> None:
        self.registry.latency = 0.0
        self.registry.thaw()
        self.reject_status, self.reject_until = 0, 0.0

    def stats(self) -> dict[str, Any]:
        counts, per_endpoint = self.registry.counts()
        per_protocol = {name: counts.get(name, 0) for name in sorted(PROTOCOLS - {"all"})}
        remaining = self.reject_until - time.monotonic()
        return {
            **per_protocol,  # top-level too, so ``stats()["ws"]`` reads at a glance
            "connections": per_protocol,
            "endpoints": per_endpoint,
            "messages": {"in": self.messages_in, "out": self.messages_out},
            "frozen": self.registry.frozen,
            "latency_ms": round(self.registry.latency * 1000),
            "reject": (
                {"status": self.reject_status, "remaining": round(remaining, 3)}
                if self.rejecting()
                else None
            ),
        }


class ChaosMiddleware:
    """Outermost ASGI layer: counts WebSocket messages; refuses new connections during a
    ``reject`` (WebSocket handshakes get a real HTTP status via the websocket.http.response
    extension, so clients see e.g. InvalidStatus 503 rather than a 403)."""

    def __init__(self, app: Any, state: ChaosState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        owner = protocols.of_path(scope["path"]) if kind in ("http", "websocket") else None
        if kind not in ("http", "websocket") or (owner is not None and not owner.faults):
            await self.app(scope, receive, send)
            return
        status = self.state.rejecting()
        if status:
            await self._reject(scope, receive, send, status)
            return
        if kind == "websocket":
            receive, send = self._counting(receive, send)
        await self.app(scope, receive, send)

    def _counting(self, receive: Any, send: Any) -> tuple[Any, Any]:
        state = self.state

        async def counted_receive() -> Any:
            message = await receive()
            if message["type"] == "websocket.receive":
                state.messages_in += 1
            return message

        async def counted_send(message: Any) -> None:
            if message["type"] == "websocket.send":
                state.messages_out += 1
            await send(message)

        return counted_receive, counted_send

    async def _reject(self, scope: Any, receive: Any, send: Any, status: int) -> None:
        body = safejson.encode({"error": "rejected by /_chaos/reject", "status": status})
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": status,
                        "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1013})


MAX_BODY = 4096


async def _body(request: Request) -> dict[str, Any]:
    value = await httpjson.read_json(request, MAX_BODY, empty={})
    if not isinstance(value, dict):
        raise httpjson.BodyError(400, f"body must be a JSON object, not {type(value).__name__}")
    return value


def _choice(body: dict[str, Any], key: str, choices: Collection[str], default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or value not in choices:
        raise httpjson.BodyError(400, f"{key} must be one of {sorted(choices)}, "
                                      f"not {badinput.describe(value)}")
    return value


def _number(body: dict[str, Any], key: str, default: float | None, low: float, high: float,
            *, integer: bool = False) -> Any:
    """A JSON number from ``low`` to ``high`` (NaN and Infinity never decode; bools are not
    numbers here, although Python says ``True == 1``)."""
    value = body.get(key, default)
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise httpjson.BodyError(400, f"{key} must be {kind} from {low:g} to {high:g}, "
                                      f"not {badinput.describe(value)}")
    return value


def _refused(request: Request, exc: httpjson.BodyError) -> JSONResponse:
    badinput.report_scope(request.scope, str(exc))
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


def routes(server: Server) -> list[Route]:
    state = server.chaos
    registry = state.registry

    async def drop(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            protocol = _choice(body, "protocol", PROTOCOLS, "all")
            mode = _choice(body, "mode", ("abort", "close"), "abort")
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        n = registry.drop(protocol, mode)
        return JSONResponse({"dropped": n, "protocol": protocol, "mode": mode})

    async def latency(request: Request) -> JSONResponse:
        try:
            ms = _number(await _body(request), "ms", None, 0, MAX_LATENCY_MS)
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        registry.latency = ms / 1000.0
        return JSONResponse({"latency_ms": ms})

    async def freeze(request: Request) -> JSONResponse:
        return JSONResponse({"frozen": True, "connections": registry.freeze()})

    async def thaw(request: Request) -> JSONResponse:
        return JSONResponse({"frozen": False, "connections": registry.thaw()})

    async def reject(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            status = _number(body, "status", 503, 400, 599, integer=True)
            seconds = _number(body, "seconds", 5, 0, MAX_REJECT_SECONDS)
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        state.reject_status, state.reject_until = status, time.monotonic() + seconds
        return JSONResponse({"status": status, "seconds": seconds})

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse(state.stats())

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats())

    return [
        Route(f"{PREFIX}/drop", drop, methods=["POST"]),
        Route(f"{PREFIX}/latency", latency, methods=["POST"]),
        Route(f"{PREFIX}/freeze", freeze, methods=["POST"]),
        Route(f"{PREFIX}/thaw", thaw, methods=["POST"]),
        Route(f"{PREFIX}/reject", reject, methods=["POST"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/stats", stats, methods=["GET"]),
    ]
