"""The one ASGI app behind ``python -m servers``: every protocol of :data:`servers.protocols.TABLE`
mounted on one router, wrapped in the chaos middleware.

Layers, outermost first: in classroom mode :class:`servers.classroom.gate.Gate` (tokens,
limits), :class:`servers.chaos.ChaosMiddleware` (counts, rejects),
:class:`servers.closereason.CloseReasons` (legal close frames), whatever a protocol module
wraps around the router (python-socketio), then the Starlette router. A WebSocket handshake
to a path nobody serves answers HTTP 404 (Starlette's default closes the handshake, which
uvicorn turns into a 403: the wrong hint for a typo).
"""

from __future__ import annotations

import importlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from servers import auth, broker, chaos, classroom, closereason, protocols, safejson
from servers.httpjson import JSONResponse
from servers.transport import Registry

DEFAULT_MAX_FRAME = 64 * 1024


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 0
    token_ttl: float = auth.DEFAULT_TTL
    max_frame: int = DEFAULT_MAX_FRAME
    parent_pid: int | None = None
    classroom: classroom.Config | None = None  # classroom mode (servers.classroom)
    broker: str | None = None  # redis://HOST:PORT: share rooms, feeds, tokens across processes
    workers: int = 1  # worker processes behind one port (servers.master)
    worker: int | None = None  # this process's number among them (None: the only process)

    @property
    def chaos_on(self) -> bool:
        """Lab mode, or classroom mode (where chaos is scoped by role)."""
        return self.lab_mode or self.classroom is not None

    @property
    def lab_mode(self) -> bool:
        """Chaos is on only when nobody but this machine can reach the server."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass
class Server:
    """What a protocol module gets to build its routes: settings and the shared state."""

    settings: Settings
    registry: Registry = field(default_factory=Registry)
    chaos: chaos.ChaosState = field(init=False)
    classroom: classroom.Classroom | None = field(init=False)
    broker: broker.Broker | None = field(init=False)  # None: one process, all in-process

    def __post_init__(self) -> None:
        self.chaos = chaos.ChaosState(self.registry)
        self.broker = broker.connect(self.settings)
        if self.broker is not None:
            from servers.broker.chaos import ChaosRelay

            self.chaos.share = ChaosRelay(self.broker, self.chaos).share
        self.classroom = None
        if self.settings.classroom is not None:
            counters = self.broker.counters() if self.broker is not None else None
            self.classroom = classroom.Classroom(self.settings.classroom, self.registry,
                                                 counters)
            self.chaos.on_break = self.classroom.broke_everyone

    def served(self) -> list[protocols.Protocol]:
        return [p for p in protocols.TABLE if self.settings.chaos_on or not p.lab_only]


async def index(request: Request) -> JSONResponse:
    """A cheap health check that also lists what is served."""
    paths = [getattr(r, "path", "") for r in request.app.routes]
    return JSONResponse({"name": "rtlab servers", "paths": sorted(p for p in paths if p)})


def routes(server: Server) -> list[BaseRoute]:
    """The index plus every table module's routes, each checked to live under its prefix."""
    out: list[BaseRoute] = [Route("/", index)]
    for protocol in server.served():
        module = importlib.import_module(protocol.module)
        make = getattr(module, "routes", None)
        for route in make(server) if make else ():
            path = getattr(route, "path", "")
            if not protocol.owns(path):
                raise ValueError(f"{protocol.module} serves {path} outside {protocol.prefix}")
            out.append(route)
    return out


async def not_found(scope: Any, receive: Any, send: Any) -> None:
    """The router's fallback: HTTP 404 for a WebSocket handshake as for a request."""
    if scope["type"] != "websocket":
        await JSONResponse({"error": f"nothing at {scope['path']}"}, status_code=404)(
            scope, receive, send)
        return
    await receive()  # websocket.connect
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = safejson.encode({"error": f"no WebSocket endpoint at {scope['path']}"})
    await send({"type": "websocket.http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body))]})
    await send({"type": "websocket.http.response.body", "body": body})


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> Any:
    """The ASGI app. ``registry`` must be the one given to the uvicorn protocol classes
    (:func:`servers.transport.make_protocols`) for freeze/latency/drop to reach the sockets."""
    server = Server(settings or Settings(), registry or Registry())
    app = Starlette(routes=routes(server))
    app.router.default = not_found
    app.state.settings = server.settings
    app.state.chaos = server.chaos
    asgi: Any = app
    for protocol in server.served():
        wrap = getattr(importlib.import_module(protocol.module), "wrap", None)
        if wrap is not None:
            asgi = wrap(asgi, server)
    asgi = chaos.ChaosMiddleware(closereason.CloseReasons(asgi), server.chaos)
    return server.classroom.wrap(asgi) if server.classroom is not None else asgi
