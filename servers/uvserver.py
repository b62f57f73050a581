"""The uvicorn server of one process: the app, the chaos protocol classes, our timeouts.

Shared by the single process (``python -m servers``) and each worker of ``--workers N``, so
both serve the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn

from servers.app import Settings, create_app
from servers.socketio import PING_INTERVAL, PING_TIMEOUT
from servers.transport import Registry, make_protocols

GRACEFUL_SHUTDOWN_SECONDS = 1
#: How long an idle HTTP/1.1 connection stays open. uvicorn's default (5 s) is shorter than
#: Engine.IO's ping interval, so a long-polling client's pong, sent after each ping, found its
#: connection closed and opened a new one every time; with workers that new connection waits
#: in the master's accept queue behind a class reconnecting at once, past the ping timeout.
KEEP_ALIVE_SECONDS = PING_INTERVAL + PING_TIMEOUT + 1


def build(settings: Settings, wrap: Callable[[Any], Any] | None = None) -> uvicorn.Server:
    """A uvicorn server for the demo app (``wrap`` puts an ASGI layer around it)."""
    registry = Registry()
    http_cls, ws_cls = make_protocols(registry)
    app = create_app(settings, registry)
    config = uvicorn.Config(
        wrap(app) if wrap is not None else app,
        loop="asyncio",
        http=http_cls,
        ws=ws_cls,
        ws_max_size=settings.max_frame,
        lifespan="auto",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return uvicorn.Server(config)
