"""SocketIOClient against python-socketio's own ``AsyncServer``, without our handlers, run in
the test: what the server decides stands, as in socket.io-client. A connection refused by a
``connect`` handler (whatever its code) and a server-side ``disconnect(sid)`` are not
retried; a refused token gets one fresh try when fresh credentials can be had, never the
same credentials twice; a handshake answered 404 (a wrong ``socketio_path``) stops at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import socketio

from rtlab.backoff import Constant
from rtlab.errors import AuthenticationFailed, ClientClosed, ConnectionFailed, ConnectTimeout
from rtlab.socketio import SocketIOClient
from rtlab.state import ATTEMPT, NOTE, ConnectionState
from rtlab.waiting import until

S = ConnectionState


class Door:
    """A bare python-socketio server whose ``connect`` handler is the test's ``rule``; it
    records every connect it saw (sid, auth) and answers ``echo`` with an ack."""

    def __init__(self, rule: Callable[[dict | None], Any] = lambda auth: True) -> None:
        self.sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
        self.app = socketio.ASGIApp(self.sio)
        self.rule = rule
        self.seen: list[tuple[str, Any]] = []
        self.sio.on("connect", self._connect)
        self.sio.on("echo", self._echo)

    async def _connect(self, sid: str, environ: dict, auth: Any = None) -> Any:
        self.seen.append((sid, auth))
        return self.rule(auth)

    async def _echo(self, sid: str, data: Any) -> Any:
        return {"echo": data}


def refuse(message: str, code: str | None = None) -> Callable[[Any], Any]:
    def rule(_auth: Any) -> Any:
        if code is None:
            raise socketio.exceptions.ConnectionRefusedError(message)
        raise socketio.exceptions.ConnectionRefusedError(message, {"code": code})

    return rule


def fast(url: str, **options: Any) -> SocketIOClient:
    options.setdefault("policy", Constant(0.05))
    options.setdefault("transports", ("polling",))
    return SocketIOClient(url, **options)


async def test_it_works_against_a_bare_python_socketio_server(serve_asgi) -> None:
    door = Door()
    url = await serve_asgi(door.app)
    async with fast(url, transports=("polling", "websocket")) as client:
        assert await client.call("echo", "hi") == {"echo": "hi"}
    assert len(door.seen) == 1


@pytest.mark.parametrize("code", [None, "BANNED"])
async def test_a_refused_connection_is_not_retried_and_says_why(serve_asgi, code) -> None:
    door = Door(refuse("no entry for you", code))
    client = fast(await serve_asgi(door.app))
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as caught:
        await client.connect(timeout=5)
    assert time.monotonic() - started < 3
    assert not isinstance(caught.value, AuthenticationFailed)
    assert "/ refused the connection: no entry for you" in str(caught.value)
    assert "not retrying" in str(caught.value)
    assert client.state is S.ERROR and len(door.seen) == 1
    assert not client.timeline.of_kind(ATTEMPT)
    await client.close()


async def test_a_refused_fixed_token_stops_with_the_servers_reason(serve_asgi) -> None:
    door = Door(refuse("token expired", "UNAUTHENTICATED"))
    client = fast(await serve_asgi(door.app), token="stale")
    with pytest.raises(AuthenticationFailed, match="credentials refused: / refused the "
                       "connection: token expired"):
        await client.connect(timeout=5)
    assert [auth for _sid, auth in door.seen] == [{"token": "stale"}]
    await client.close()


async def test_a_token_source_gets_one_fresh_try_then_stops(serve_asgi) -> None:
    door = Door(refuse("token refused", "UNAUTHENTICATED"))
    tokens = iter(["t1", "t2", "t3"])
    client = fast(await serve_asgi(door.app), token=lambda: next(tokens))
    with pytest.raises(AuthenticationFailed, match="refused again after a token refresh"):
        await client.connect(timeout=5)
    assert [auth["token"] for _sid, auth in door.seen] == ["t1", "t2"]
    await client.close()


async def test_the_same_credentials_are_never_sent_twice(serve_asgi) -> None:
    door = Door(refuse("token refused", "UNAUTHENTICATED"))
    client = fast(await serve_asgi(door.app), token=lambda: "always-the-same")
    with pytest.raises(AuthenticationFailed, match="the credentials were the same"):
        await client.connect(timeout=5)
    assert len(door.seen) == 1
    await client.close()


async def test_refresh_fetches_new_credentials_for_the_fresh_try(serve_asgi) -> None:
    door = Door(lambda auth: auth == {"token": "new"} or refuse("old token",
                                                                 "UNAUTHENTICATED")(auth))
    current = {"token": "old"}
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)
        current["token"] = "new"

    async with fast(await serve_asgi(door.app), auth=lambda: dict(current),
                    refresh=refresh) as client:
        assert await client.call("echo", 1) == {"echo": 1}
    assert refreshed == [1]
    assert [auth for _sid, auth in door.seen] == [{"token": "old"}, {"token": "new"}]


async def test_a_server_side_disconnect_ends_the_client_without_a_reconnect(serve_asgi) -> None:
    door = Door()
    client = fast(await serve_asgi(door.app))
    await client.connect(timeout=5)
    sid = door.seen[0][0]
    await door.sio.disconnect(sid)
    await client.wait_for(S.DISCONNECTED, timeout=5)
    await asyncio.wait_for(asyncio.shield(client._supervisor), 5)  # the client stopped
    assert "disconnected by the server (io server disconnect)" in client.stop_reason
    assert any("io server disconnect" in e.detail for e in client.timeline.of_kind(NOTE))
    assert len(door.seen) == 1 and client.connections == 1
    with pytest.raises(ClientClosed, match="io server disconnect"):
        await client.wait_for(S.CONNECTED, timeout=1)
    with pytest.raises(ClientClosed, match="io server disconnect"):
        await client.call("echo", "after the kick", timeout=1)
    await client.close()


async def test_a_wrong_socketio_path_stops_with_the_404(serve_asgi) -> None:
    url = await serve_asgi(Door().app)
    client = fast(url, socketio_path="socket.io.wrong")
    with pytest.raises(ConnectionFailed) as caught:
        await client.connect(timeout=5)
    assert caught.value.status == 404 and "HTTP 404" in str(caught.value)
    assert "socketio_path='socket.io.wrong'" in str(caught.value)
    assert not client.timeline.of_kind(ATTEMPT)
    await client.close()


async def test_a_refused_port_keeps_trying_and_the_timeout_says_what_it_got() -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        client = fast(f"http://127.0.0.1:{sock.getsockname()[1]}")
        with pytest.raises(ConnectTimeout, match="last attempt: .*[Cc]onnect"):
            await client.connect(timeout=0.5)
    assert client.state in (S.RECONNECTING, S.CONNECTING)
    await client.close()


async def test_a_server_restart_is_still_retried(launch_server) -> None:
    """The one thing that must stay as it was: a dropped transport is retried."""
    server = launch_server()
    client = fast(server.url)
    await client.connect(timeout=5)
    server.kill()
    await client.wait_for(S.RECONNECTING, timeout=5)
    await asyncio.to_thread(server.restart)
    await until(client.timeline, lambda _t: client.connections == 2, timeout=10)
    await client.close()


@pytest.mark.parametrize("knob", [
    {"ack_timeout": 0}, {"ack_retries": -1}, {"connect_timeout": float("nan")}, {"grace": -1},
    {"url": "localhost:8000"}, {"transports": ("carrier-pigeon",)},
])
def test_every_knob_is_checked(knob: dict) -> None:
    options = {"url": "http://127.0.0.1:9", **knob}
    with pytest.raises(ValueError, match=next(iter(knob))):
        SocketIOClient(options.pop("url"), **options)
