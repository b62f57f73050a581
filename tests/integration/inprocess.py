"""The demo server inside the test's own event loop, on a real loopback socket.

For tests that must look at (or set) the server's state while clients talk to it: the
Socket.IO manager's fan-out counters, a connection's transport. Built exactly as
``python -m servers`` builds it (the same app, protocol classes and registry); only the
process differs. The listening socket listens before uvicorn starts, so clients may connect
at once (the kernel queues them) and nothing has to wait for a "started" flag.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from servers.__main__ import bind
from servers.app import Settings, create_app
from servers.transport import Registry, make_protocols


@dataclass
class Running:
    url: str
    app: Any
    registry: Registry

    @property
    def socketio(self) -> Any:
        """The :class:`servers.socketio.SocketIOService` behind ``/socket.io/``."""
        layer = self.app
        while layer is not None:
            service = getattr(layer, "rtlab_socketio", None)
            if service is not None:
                return service
            layer = getattr(layer, "app", None)
        raise LookupError("no Socket.IO service in this app")

    def ws_url(self, path: str) -> str:
        return "ws" + self.url[4:] + path

    def server_side(self, path_prefix: str) -> list[Any]:
        """The server's protocol objects of open connections under ``path_prefix``."""
        return [p for p in self.registry.protocols
                if getattr(p, "scope", {}).get("path", "").startswith(path_prefix)]


@contextlib.asynccontextmanager
async def demo_server() -> AsyncIterator[Running]:
    registry = Registry()
    http_cls, ws_cls = make_protocols(registry)
    app = create_app(Settings(), registry)
    sock = bind("127.0.0.1", 0)
    sock.listen(128)
    config = uvicorn.Config(app, loop="asyncio", http=http_cls, ws=ws_cls, lifespan="auto",
                            log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}", app, registry)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
