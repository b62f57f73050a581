"""One table of protocols: classification, chaos names and routing all derive from it."""

from __future__ import annotations

import pytest

from servers import chaos, protocols
from servers.app import Server, Settings, create_app, routes
from servers.transport import classify


@pytest.mark.parametrize(("path", "kind", "name", "endpoint"), [
    ("/ws/echo", "websocket", "ws", "/ws/echo"),
    ("/graphql", "http", "graphql", "/graphql"),
    ("/graphql", "websocket", "graphql", "/graphql"),
    ("/socket.io/", "websocket", "socketio", "/socket.io/"),
    ("/sse/news", "http", "sse", "/sse/news"),
    ("/auth/login", "http", "http", "/auth/login"),
    ("/_chaos/stats", "http", "chaos", "/_chaos/stats"),
    ("/", "http", "http", "/"),
    ("/graphqlx", "http", "http", "/graphqlx"),  # a prefix is a whole path segment
])
def test_classify_reads_the_table(path, kind, name, endpoint) -> None:
    assert classify({"type": kind, "path": path}) == (name, endpoint)
    assert classify(None) is None


def test_chaos_can_name_every_protocol_but_itself() -> None:
    names = {p.name for p in protocols.TABLE}
    assert chaos.PROTOCOLS == (names - {"chaos", "classroom"}) | {"http", "all"}
    assert not protocols.by_name("chaos").faults
    assert not protocols.by_name("classroom").faults


def test_every_route_lives_under_its_protocol_prefix() -> None:
    server = Server(Settings())
    paths = [r.path for r in routes(server) if r.path != "/"]
    assert paths and all(protocols.of_path(p) is not None for p in paths)
    served = {protocols.of_path(p).name for p in paths}
    # Socket.IO wraps; /_classroom is served in classroom mode only
    assert served == {p.name for p in protocols.TABLE} - {"socketio", "classroom"}


def test_chaos_routes_exist_only_in_lab_and_classroom_mode() -> None:
    from servers.classroom import Config

    lab = [r.path for r in routes(Server(Settings(host="127.0.0.1")))]
    open_ = [r.path for r in routes(Server(Settings(host="0.0.0.0")))]
    classroom = [r.path for r in routes(Server(Settings(host="0.0.0.0", classroom=Config())))]
    assert any(p.startswith("/_chaos") for p in lab)
    assert not any(p.startswith(("/_chaos", "/_classroom")) for p in open_)
    assert not any(p.startswith("/_classroom") for p in lab)
    assert {"/_chaos/restart", "/_classroom/stats"} <= set(classroom)


def test_a_module_route_outside_its_prefix_is_refused(monkeypatch) -> None:
    from starlette.routing import Route

    from servers import auth

    monkeypatch.setattr(auth, "routes", lambda server: [Route("/login", lambda r: None)])
    with pytest.raises(ValueError, match="outside /auth"):
        create_app(Settings())
