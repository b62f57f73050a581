"""/_chaos/*: break the link on purpose (lab and classroom mode), and the ASGI middleware that
counts messages and refuses new connections while a ``reject`` is active.

Scope: in lab mode every call breaks every link. In classroom mode (:mod:`servers.classroom`)
the instructor's calls do too, while a student's calls break, thaw, slow, refuse, reset and
count only the connections of their own client id (:func:`servers.transport.scoped_client`).

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
- ``POST /_chaos/restart {"seconds": 1, "status": 503, "mode": "abort"}`` -> ``{"dropped": n,
  "seconds": s, "status": s, "mode": m}``: a restart as the clients see it, for a server
  nobody may kill (classroom mode): faults reset, connections dropped, new ones refused for
  ``seconds``.
- ``POST /_chaos/reset`` -> the stats below, after undoing all of the above.
- ``GET /_chaos/stats`` -> ``{"ws": n, "graphql": n, "socketio": n, "sse": n, "http": n,
  "connections": {the same five counts}, "endpoints": {"/ws/echo": n, ...},
  "messages": {"in": n, "out": n}, "frozen": bool, "latency_ms": n,
  "reject": {"status": s, "remaining": seconds} | null, "scope": "everyone" | client id}``.

/_chaos/* itself is never frozen, delayed, rejected or dropped, so ``thaw`` always works.

With worker processes (``--workers N --broker …``) every operation but ``stats`` is relayed
to the other workers (:mod:`servers.broker.chaos`); the answer counts the answering worker's
links, and ``stats`` is that worker's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from servers import badinput, httpjson, protocols, safejson
from servers.httpjson import JSONResponse
from servers.transport import CLIENT_KEY, Registry, scoped_client

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
        self.client_rejects: dict[str, tuple[int, float]] = {}  # client id -> (status, until)
        #: called with "drop" / "restart" when everyone's links were cut (classroom: a herd)
        self.on_break: Callable[[str], None] | None = None
        #: hands an operation to the other worker processes (a broker's
        #: :class:`servers.broker.chaos.ChaosRelay`); None: this process is the only one
        self.share: Callable[[str, dict[str, Any], str | None], Awaitable[None]] | None = None

    def perform(self, op: str, params: dict[str, Any], client: str | None) -> dict[str, Any]:
        """Do ``op`` to this process's links (all, or ``client``'s); its route's answer."""
        return OPERATIONS[op](self, params, client)

    def _reject_of(self, client: str | None) -> tuple[int, float]:
        now = time.monotonic()
        if now < self.reject_until:
            return self.reject_status, self.reject_until - now
        status, until = self.client_rejects.get(client, (0, 0.0)) if client else (0, 0.0)
        return (status, until - now) if now < until else (0, 0.0)

    def rejecting(self, client: str | None = None) -> int:
        return self._reject_of(client)[0]

    def reject(self, status: int, seconds: float, client: str | None = None) -> None:
        until = time.monotonic() + seconds
        if client is None:
            self.reject_status, self.reject_until = status, until
            return
        now = time.monotonic()
        self.client_rejects = {c: r for c, r in self.client_rejects.items() if r[1] > now}
        self.client_rejects[client] = (status, until)

    def broke(self, cause: str, client: str | None) -> None:
        if client is None and self.on_break is not None:
            self.on_break(cause)

    def reset(self, client: str | None = None) -> None:
        self.registry.set_latency(0.0, client)
        self.registry.thaw(client)
        if client is None:
            self.registry.client_latency.clear()
            self.reject_status, self.reject_until = 0, 0.0
            self.client_rejects.clear()
        else:
            self.client_rejects.pop(client, None)

    def stats(self, client: str | None = None) -> dict[str, Any]:
        counts, per_endpoint = self.registry.counts(client)
        per_protocol = {name: counts.get(name, 0) for name in sorted(PROTOCOLS - {"all"})}
        status, remaining = self._reject_of(client)
        latency = self.registry.latency
        if client is not None:
            latency = max(latency, self.registry.client_latency.get(client, 0.0))
        return {
            **per_protocol,  # top-level too, so ``stats()["ws"]`` reads at a glance
            "connections": per_protocol,
            "endpoints": per_endpoint,
            "messages": {"in": self.messages_in, "out": self.messages_out},
            "frozen": self.registry.is_frozen(client),
            "latency_ms": round(latency * 1000),
            "reject": {"status": status, "remaining": round(remaining, 3)} if status else None,
            "scope": client or "everyone",
        }


def _drop(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    n = state.registry.drop(p["protocol"], p["mode"], client)
    if p["protocol"] == "all":
        state.broke("drop", client)
    return {"dropped": n, "protocol": p["protocol"], "mode": p["mode"]}


def _latency(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    state.registry.set_latency(p["ms"] / 1000.0, client)
    return {"latency_ms": p["ms"]}


def _freeze(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    return {"frozen": True, "connections": state.registry.freeze(client)}


def _thaw(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    return {"frozen": False, "connections": state.registry.thaw(client)}


def _reject(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    state.reject(p["status"], p["seconds"], client)
    return {"status": p["status"], "seconds": p["seconds"]}


def _restart(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    state.reset(client)
    n = state.registry.drop("all", p["mode"], client)
    state.reject(p["status"], p["seconds"], client)
    state.broke("restart", client)
    return {"dropped": n, "status": p["status"], "seconds": p["seconds"], "mode": p["mode"]}


def _reset(state: ChaosState, p: dict[str, Any], client: str | None) -> dict[str, Any]:
    state.reset(client)
    return state.stats(client)


#: what each route does, by name: run here, and on every other worker (``ChaosState.share``)
OPERATIONS: dict[str, Callable[[ChaosState, dict[str, Any], str | None], dict[str, Any]]] = {
    "drop": _drop, "latency": _latency, "freeze": _freeze, "thaw": _thaw, "reject": _reject,
    "restart": _restart, "reset": _reset,
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
        status = self.state.rejecting(scope.get(CLIENT_KEY))
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

    async def act(request: Request, op: str, params: dict[str, Any]) -> JSONResponse:
        client = scoped_client(request.scope)
        answer = state.perform(op, params, client)
        if state.share is not None:
            await state.share(op, params, client)
        return JSONResponse(answer)

    async def drop(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            protocol = _choice(body, "protocol", PROTOCOLS, "all")
            mode = _choice(body, "mode", ("abort", "close"), "abort")
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        return await act(request, "drop", {"protocol": protocol, "mode": mode})

    async def latency(request: Request) -> JSONResponse:
        try:
            ms = _number(await _body(request), "ms", None, 0, MAX_LATENCY_MS)
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        return await act(request, "latency", {"ms": ms})

    async def freeze(request: Request) -> JSONResponse:
        return await act(request, "freeze", {})

    async def thaw(request: Request) -> JSONResponse:
        return await act(request, "thaw", {})

    def _refusal(body: dict[str, Any], seconds: float) -> tuple[int, float]:
        return (_number(body, "status", 503, 400, 599, integer=True),
                _number(body, "seconds", seconds, 0, MAX_REJECT_SECONDS))

    async def reject(request: Request) -> JSONResponse:
        try:
            status, seconds = _refusal(await _body(request), 5)
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        return await act(request, "reject", {"status": status, "seconds": seconds})

    async def restart(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            status, seconds = _refusal(body, 1)
            mode = _choice(body, "mode", ("abort", "close"), "abort")
        except httpjson.BodyError as exc:
            return _refused(request, exc)
        return await act(request, "restart", {"status": status, "seconds": seconds,
                                              "mode": mode})

    async def reset(request: Request) -> JSONResponse:
        return await act(request, "reset", {})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats(scoped_client(request.scope)))

    return [
        Route(f"{PREFIX}/drop", drop, methods=["POST"]),
        Route(f"{PREFIX}/latency", latency, methods=["POST"]),
        Route(f"{PREFIX}/freeze", freeze, methods=["POST"]),
        Route(f"{PREFIX}/thaw", thaw, methods=["POST"]),
        Route(f"{PREFIX}/reject", reject, methods=["POST"]),
        Route(f"{PREFIX}/restart", restart, methods=["POST"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/stats", stats, methods=["GET"]),
    ]
