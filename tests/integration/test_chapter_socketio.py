"""The chapter's SocketIOService port (seed l.1157-1379) against the real server.

One test per mistake the notebook shows; each names the seed line it relies on.
"""

from __future__ import annotations

import pytest

from rtlab import proxy as lab_proxy
from rtlab.chapter import ChapterCollaborationManager, ChapterSocketIOService
from rtlab.socketio import SocketIOClient, fresh_login
from rtlab.waiting import until

POLLING_FIRST = ("polling", "websocket")


@pytest.fixture(scope="module")
def blocking(shared_server):
    made = lab_proxy.ProxyProcess.launch(shared_server.url, block_upgrade=True)
    yield made
    made.stop()


def connected(service: ChapterSocketIOService):
    return lambda _t: service.is_connected


async def test_websocket_first_never_connects_behind_the_proxy_and_then_wedges(blocking):
    # l.1182 websocket first; l.1178 _isConnecting never reset by onConnectError (l.1212).
    service = ChapterSocketIOService(blocking.url, "chat", reconnection_delay=0.1,
                                     reconnection_delay_max=0.2, reconnection_attempts=2)
    try:
        await service.connect()
        await until(service.timeline, lambda t: len(t.of_kind("error")) >= 1, timeout=5)
        assert not service.is_connected and service.is_connecting
        await service.connect()
        assert service.timeline.of_kind("note")[-1].detail.startswith("connect() ignored")
    finally:
        await service.dispose()


async def test_handlers_before_connect_are_lost_and_lifecycle_ones_run_twice(shared_server):
    # l.1248 _socket?.on(...) with a null socket; l.1202/1209 _triggerEvent beside the listener.
    service = ChapterSocketIOService(shared_server.url, "chat", transports=POLLING_FIRST)
    heard: list = []
    disconnects: list = []
    try:
        service.on("user_joined", heard.append)  # before connect(): never installed
        await service.connect()
        await until(service.timeline, connected(service), timeout=5)
        service.on("disconnect", disconnects.append)
        other = SocketIOClient(shared_server.url, namespaces=("/chat",), name="other")
        await service.emit("join", {"room": "port-test"})
        await other.connect()
        await other.call("join", {"room": "port-test"}, namespace="/chat")
        await other.close()
        await service.disconnect()
        assert heard == [] and len(disconnects) == 2
    finally:
        await service.dispose()


async def test_emit_while_disconnected_is_dropped_and_acks_never_time_out(shared_server):
    # l.1269-1272 emit returns when not connected; l.1275 emitWithAck with no timeout.
    service = ChapterSocketIOService(shared_server.url, transports=POLLING_FIRST)
    try:
        await service.emit("echo", "too early")
        assert service.lost == [("echo", "too early")]
        await service.connect()
        await until(service.timeline, connected(service), timeout=5)
        never, later = [], []
        await service.emit("flaky", {"key": "port-ack", "ignore": 99}, never.append)
        await service.emit("echo", "later", later.append)
        await until(service.timeline, lambda _t: later, timeout=5)
        assert never == [] and not service.timeline.of_kind("error")  # silence, unnoticed
    finally:
        await service.dispose()


async def test_auth_in_extra_headers_makes_a_guest(shared_server):
    # l.1190 setExtraHeaders(authHeaders): the server reads the Socket.IO auth payload only.
    token = await fresh_login(shared_server.url, "bob")()
    service = ChapterSocketIOService(shared_server.url, "chat",
                                     {"Authorization": f"Bearer {token}"},
                                     transports=POLLING_FIRST)
    answers: list = []
    try:
        await service.connect()
        await until(service.timeline, connected(service), timeout=5)
        await service.emit("join", {"room": "port-guest"}, answers.append)
        await service.emit("chat_message", {"room": "port-guest", "text": "hi"}, answers.append)
        await until(service.timeline, lambda _t: len(answers) == 2, timeout=5)
        assert "error" in answers[1]
    finally:
        await service.dispose()


async def test_off_with_a_handler_removes_every_listener_of_the_event(shared_server):
    # l.1255-1262: off(event, handler) ends in _socket?.off(event), without the handler.
    service = ChapterSocketIOService(shared_server.url, "chat", transports=POLLING_FIRST)
    sender = SocketIOClient(shared_server.url, token=fresh_login(shared_server.url, "carol"),
                            namespaces=("/chat",), name="carol")
    log, screen = [], []
    try:
        await service.connect()
        await until(service.timeline, connected(service), timeout=5)
        service.on("chat_message", log.append)
        service.on("chat_message", screen.append)
        await service.emit("join", {"room": "port-off"})
        await sender.connect()
        await sender.call("join", {"room": "port-off"}, namespace="/chat")
        await sender.call("chat_message", {"room": "port-off", "text": "one"}, namespace="/chat")
        await until(service.timeline, lambda _t: len(screen) == 1, timeout=5)
        service.off("chat_message", log.append)  # stop logging, keep the screen
        assert service._event_handlers["chat_message"] == [screen.append]
        await sender.call("chat_message", {"room": "port-off", "text": "two"}, namespace="/chat")
        echoed: list = []  # an ack on the same connection: "two" has arrived before it
        await service.emit("echo", "after two", echoed.append)
        await until(service.timeline, lambda _t: echoed, timeout=5)
        heard = [e for e in service.timeline.of_kind("in") if e.data.get("event") == "chat_message"]
        assert [e.data["data"]["text"] for e in heard] == ["one"]  # no listener left
        assert len(screen) == 1 and len(log) == 1
    finally:
        await sender.close()
        await service.dispose()


async def test_the_collaboration_manager_calls_a_method_that_does_not_exist(shared_server):
    # l.1356 _socket.onConnect(...): SocketIOService has no onConnect.
    service = ChapterSocketIOService(shared_server.url, "collab", transports=POLLING_FIRST)
    manager = ChapterCollaborationManager(service, "notes.md")
    try:
        with pytest.raises(AttributeError, match="onConnect"):
            await manager.initialize()
    finally:
        await service.dispose()
