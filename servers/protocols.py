"""The protocols of the demo server as one table: path prefix -> protocol name -> module.

Everything that needs to know "which protocol is this path?" derives from :data:`TABLE`:
routing (:func:`servers.app.create_app` mounts each module), the chaos layer's view of live
connections (:func:`servers.transport.classify`) and the names ``/_chaos/drop`` accepts
(:data:`servers.chaos.PROTOCOLS`). Adding a protocol is one row here plus its module.

A module in the table offers ``routes(server) -> list[BaseRoute]`` (every path under its
prefix; :func:`servers.app.create_app` checks it) and/or ``wrap(app, server) -> ASGI app``
for a library that must sit in front of the router (python-socketio). ``server`` is the
:class:`servers.app.Server` being built: its settings, transport registry and chaos state.

Modules are named, not imported, so this file imports nothing of the server and every
other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Protocol:
    name: str  # what /_chaos/drop and /_chaos/stats call it
    prefix: str  # every path of the protocol is this or starts with it + "/"
    module: str  # the module that serves it
    endpoint: str | None = None  # one label for all its paths in stats (None: the path)
    faults: bool = True  # False: never frozen, delayed, dropped, rejected or counted
    lab_only: bool = False  # served on loopback or in classroom mode (Settings.chaos_on)

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


TABLE: tuple[Protocol, ...] = (
    Protocol("chaos", "/_chaos", "servers.chaos", faults=False, lab_only=True),
    Protocol("classroom", "/_classroom", "servers.classroom.routes", faults=False,
             lab_only=True),
    Protocol("socketio", "/socket.io", "servers.socketio", endpoint="/socket.io/"),
    Protocol("graphql", "/graphql", "servers.graphql"),
    Protocol("ws", "/ws", "servers.websocket"),
    Protocol("sse", "/sse", "servers.sse"),
    Protocol("http", "/auth", "servers.auth"),
)
#: what any other path (``/``, a typo) counts as
FALLBACK = "http"


def of_path(path: str) -> Protocol | None:
    """The protocol that owns ``path``, or None (the fallback, plain HTTP)."""
    for protocol in TABLE:
        if protocol.owns(path):
            return protocol
    return None


def by_name(name: str) -> Protocol:
    for protocol in TABLE:
        if protocol.name == name:
            return protocol
    raise KeyError(name)


def prefix(name: str) -> str:
    return by_name(name).prefix


#: protocol names that chaos can break (and counts), the fallback included
FAULT_NAMES: frozenset[str] = frozenset({p.name for p in TABLE if p.faults} | {FALLBACK})


def classify(scope: dict[str, Any] | None) -> tuple[str, str] | None:
    """``(protocol name, endpoint)`` of a connection's current scope; None = no request yet."""
    if not scope:
        return None
    path = scope.get("path", "")
    protocol = of_path(path)
    if protocol is None:
        return FALLBACK, path
    return protocol.name, protocol.endpoint or path
