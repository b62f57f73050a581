"""The GraphQL-over-WebSocket core: frames built per subprotocol, server messages decoded or
refused with a reason, close codes sorted into retry / refresh / stop."""

from __future__ import annotations

import json

import pytest

from rtlab.graphql.wsprotocol import (
    LEGACY_WS,
    TRANSPORT_WS,
    Protocol,
    ProtocolViolation,
    close_kind,
    describe_close,
)


def test_frames_differ_only_where_the_protocols_do() -> None:
    new, old = Protocol(TRANSPORT_WS), Protocol(LEGACY_WS)
    assert json.loads(new.subscribe("1", "subscription { x }", {"a": 1}, "X")) == {
        "id": "1", "type": "subscribe",
        "payload": {"query": "subscription { x }", "variables": {"a": 1}, "operationName": "X"}}
    assert json.loads(old.subscribe("1", "subscription { x }"))["type"] == "start"
    assert json.loads(new.complete("1"))["type"] == "complete"
    assert json.loads(old.complete("1"))["type"] == "stop"
    assert new.ping() == '{"type":"ping"}' and old.ping() is None
    assert json.loads(new.init({"Authorization": "Bearer t"}))["payload"] == {
        "Authorization": "Bearer t"}


@pytest.mark.parametrize(("subprotocol", "frame", "kind"), [
    (TRANSPORT_WS, {"type": "next", "id": "1", "payload": {"data": {"x": 1}}}, "next"),
    (LEGACY_WS, {"type": "data", "id": "1", "payload": {"data": {"x": 1}}}, "next"),
    (LEGACY_WS, {"type": "ka"}, "ka"),
    (TRANSPORT_WS, {"type": "connection_ack"}, "ack"),
    (TRANSPORT_WS, {"type": "complete", "id": "1"}, "complete"),
])
def test_server_messages_decode(subprotocol, frame, kind) -> None:
    incoming = Protocol(subprotocol).receive(json.dumps(frame))
    assert incoming.kind == kind and incoming.id == frame.get("id")


def test_error_payloads_become_a_list_on_both_protocols() -> None:
    new = Protocol(TRANSPORT_WS).receive('{"type":"error","id":"1","payload":[{"message":"m"}]}')
    old = Protocol(LEGACY_WS).receive('{"type":"error","id":"1","payload":{"message":"m"}}')
    assert new.payload == old.payload == [{"message": "m"}]


@pytest.mark.parametrize(("subprotocol", "text", "says"), [
    (TRANSPORT_WS, "{not json", "not JSON"),
    (TRANSPORT_WS, "[1]", "with a `type`"),
    (TRANSPORT_WS, '{"type":"data","id":"1"}', "unknown message type 'data'"),
    (LEGACY_WS, '{"type":"next","id":"1"}', "unknown message type 'next'"),
    (TRANSPORT_WS, '{"type":"next","payload":{}}', "without a string `id`"),
    (TRANSPORT_WS, '{"type":"next","id":"1","payload":[]}', "must be an object"),
])
def test_bad_server_messages_are_refused_with_a_reason(subprotocol, text, says) -> None:
    with pytest.raises(ProtocolViolation, match=says.replace("(", r"\(")):
        Protocol(subprotocol).receive(text)


def test_close_codes_say_what_to_do() -> None:
    assert close_kind(4403) == "auth"
    assert [close_kind(c) for c in (4400, 4401, 4406, 4409, 4429)] == ["fatal"] * 5
    assert [close_kind(c) for c in (None, 1006, 1011, 1012, 4408, 4500, 4504, 4418)] == (
        ["retry"] * 8)
    assert describe_close(4403, "Forbidden: token expired") == (
        "closed with 4403 'Forbidden: token expired'")
    assert describe_close(None) == "link lost: no close frame"


def test_unknown_subprotocol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown subprotocol"):
        Protocol("graphql-sse")
