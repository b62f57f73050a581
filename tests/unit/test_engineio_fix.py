"""The Engine.IO send queue keeps the reader's end-of-link ``None`` for the writer."""

from __future__ import annotations

from types import SimpleNamespace

from rtlab.engineio_fix import EngineIOClient, KeptSentinelQueue, SocketIOAsyncClient


def test_a_none_batched_behind_a_packet_is_found_again_while_connected() -> None:
    owner = SimpleNamespace(state="connected")
    queue = KeptSentinelQueue(owner)
    queue.put_nowait("a re-sent call")
    queue.put_nowait(None)  # the reader gave up on the link
    assert [queue.get_nowait(), queue.get_nowait()] == ["a re-sent call", None]
    assert queue.get_nowait() is None  # the writer's next get ends it


def test_once_disconnected_the_queue_empties() -> None:
    owner = SimpleNamespace(state="disconnected")
    queue = KeptSentinelQueue(owner)
    queue.put_nowait(None)
    assert queue.get_nowait() is None
    assert queue.empty()


def test_socketio_clients_get_the_engineio_client_with_that_queue() -> None:
    sio = SocketIOAsyncClient()
    assert isinstance(sio.eio, EngineIOClient)
    assert isinstance(sio.eio.create_queue(), KeptSentinelQueue)
