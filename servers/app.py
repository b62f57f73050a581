"""The one ASGI app behind ``python -m servers``: routes of every demo server, wrapped in the
chaos middleware. New servers (GraphQL, SSE, Socket.IO) add their routes in :func:`routes`
(or wrap the Starlette app, as python-socketio's ``ASGIApp`` does) in :func:`create_app`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from servers import auth, chaos, graphql, socketio, sse, websocket
from servers.transport import Registry

DEFAULT_MAX_FRAME = 64 * 1024


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 0
    token_ttl: float = auth.DEFAULT_TTL
    max_frame: int = DEFAULT_MAX_FRAME
    parent_pid: int | None = None

    @property
    def lab_mode(self) -> bool:
        """Chaos is on only when nobody but this machine can reach the server."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


async def index(request: Request) -> JSONResponse:
    """A cheap health check that also lists what is served."""
    paths = [getattr(r, "path", "") for r in request.app.routes]
    return JSONResponse({"name": "rtlab servers", "paths": sorted(p for p in paths if p)})


def routes(settings: Settings, state: chaos.ChaosState) -> list[BaseRoute]:
    out: list[BaseRoute] = [Route("/", index)]
    out += auth.routes(auth.TokenService(settings.token_ttl))
    out += websocket.routes()
    out += sse.routes(state.registry)
    out += graphql.routes()
    if settings.lab_mode:
        out += chaos.routes(state)
    return out


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> Any:
    """The ASGI app. ``registry`` must be the one given to the uvicorn protocol classes
    (:func:`servers.transport.make_protocols`) for freeze/latency/drop to reach the sockets."""
    settings = settings or Settings()
    registry = registry or Registry()
    state = chaos.ChaosState(registry)
    app = Starlette(routes=routes(settings, state))
    app.state.settings = settings
    app.state.chaos = state
    # Socket.IO in front of Starlette (it must see the full /socket.io/ path); chaos outermost.
    return chaos.ChaosMiddleware(socketio.wrap(app), state)
