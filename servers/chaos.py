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

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servers.transport import CHAOS_PREFIX, Registry

PROTOCOLS = {"ws", "graphql", "socketio", "sse", "http", "all"}
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
        if kind not in ("http", "websocket") or scope["path"].startswith(CHAOS_PREFIX):
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
        body = json.dumps({"error": "rejected by /_chaos/reject", "status": status}).encode()
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


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def routes(state: ChaosState) -> list[Route]:
    registry = state.registry

    async def drop(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
        except ValueError as exc:
            return _bad(f"bad JSON body: {exc}")
        protocol, mode = body.get("protocol", "all"), body.get("mode", "abort")
        if protocol not in PROTOCOLS:
            return _bad(f"protocol must be one of {sorted(PROTOCOLS)}")
        if mode not in ("abort", "close"):
            return _bad('mode must be "abort" or "close"')
        n = registry.drop(protocol, mode)
        return JSONResponse({"dropped": n, "protocol": protocol, "mode": mode})

    async def latency(request: Request) -> JSONResponse:
        try:
            ms = (await _body(request)).get("ms")
        except ValueError as exc:
            return _bad(f"bad JSON body: {exc}")
        if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 <= ms <= MAX_LATENCY_MS:
            return _bad(f"ms must be a number from 0 to {MAX_LATENCY_MS}")
        registry.latency = ms / 1000.0
        return JSONResponse({"latency_ms": ms})

    async def freeze(request: Request) -> JSONResponse:
        return JSONResponse({"frozen": True, "connections": registry.freeze()})

    async def thaw(request: Request) -> JSONResponse:
        return JSONResponse({"frozen": False, "connections": registry.thaw()})

    async def reject(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
        except ValueError as exc:
            return _bad(f"bad JSON body: {exc}")
        status, seconds = body.get("status", 503), body.get("seconds", 5)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            return _bad("status must be an integer HTTP error status (400-599)")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
            0 <= seconds <= MAX_REJECT_SECONDS
        ):
            return _bad(f"seconds must be a number from 0 to {MAX_REJECT_SECONDS}")
        state.reject_status, state.reject_until = status, time.monotonic() + seconds
        return JSONResponse({"status": status, "seconds": seconds})

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse(state.stats())

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats())

    return [
        Route(f"{CHAOS_PREFIX}/drop", drop, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/latency", latency, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/freeze", freeze, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/thaw", thaw, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/reject", reject, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{CHAOS_PREFIX}/stats", stats, methods=["GET"]),
    ]
