"""The two GraphQL-over-WebSocket subprotocols as a pure core: messages in, events out.

No socket and no clock here (as in the ``websockets`` library's sans-I/O design): the
shell in :mod:`rtlab.graphql.ws` writes the frames these functions build and feeds the text
it receives to :meth:`Protocol.receive`, which answers one :class:`Incoming` event or raises
:class:`ProtocolViolation` with what was wrong.

* ``graphql-transport-ws`` (the graphql-ws library's protocol, `PROTOCOL.md
  <https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>`_): ``connection_init``
  → ``connection_ack``; ``subscribe`` → ``next``* then ``complete`` or ``error``; the
  client ends one with ``complete``; either side may ``ping``, the other must ``pong``.
* legacy ``graphql-ws`` (subscriptions-transport-ws): ``start``/``stop`` instead of
  ``subscribe``/``complete`` from the client, ``data`` instead of ``next``, the server's
  ``ka`` keep-alive and ``connection_error``; no client ping (use WebSocket pings).

Close codes a server uses (graphql-transport-ws; the lab's server uses them on both):
4400 bad message, 4401 unauthorized (no ack yet), 4403 forbidden (bad token), 4406
subprotocol not acceptable, 4408 no ``connection_init`` in time, 4409 duplicate subscription
id, 4429 too many ``connection_init``, 4500 server error, 4504 no ``connection_ack`` in
time. :func:`close_kind` sorts them into what a client should do: retry, refresh
credentials, or stop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from rtlab.errors import ProtocolViolation

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
SUBPROTOCOLS = (TRANSPORT_WS, LEGACY_WS)

#: Server close codes and what they mean (graphql-transport-ws's list).
CLOSE_CODES = {
    4400: "bad request (a message the server could not accept)",
    4401: "unauthorized (subscribe before connection_ack)",
    4403: "forbidden (credentials refused)",
    4406: "subprotocol not acceptable",
    4408: "connection_init timeout",
    4409: "subscriber for this id already exists",
    4429: "too many initialisation requests",
    4500: "internal server error",
    4504: "connection_ack timeout",
}

CloseKind = Literal["auth", "fatal", "retry"]

#: Close codes that name the client's own mistake: the graphql-ws client's list of codes it
#: never retries (``shouldRetryConnectOrThrow``), less 4500, which names the server's.
FATAL_CLOSE_CODES = frozenset({4400, 4401, 4406, 4409, 4429})


def close_kind(code: int | None) -> CloseKind:
    """What a client should do after the server closed with ``code``.

    ``auth``: the credentials were refused (4403); send the same ones again and you get the
    same answer, so refresh them first. ``fatal``: the client itself did something the
    server will refuse again (4400 a bad message, 4401 subscribe before the ack, 4406 a
    subprotocol it does not speak, 4409 a duplicate id, 4429 a second ``connection_init``):
    retrying repeats the mistake. ``retry``: everything else, including no close frame at
    all (``None``, a dropped link), timeouts (4408, 4504), the server's own error (4500:
    the graphql-ws client gives up on it, rtlab retries a server that may be restarting) and
    1001/1011/1012.
    """
    if code == 4403:
        return "auth"
    if code in FATAL_CLOSE_CODES:
        return "fatal"
    return "retry"


class Incoming(NamedTuple):
    """One server message, decoded.

    ``kind``: ``ack``, ``next`` (a result for ``id``; ``payload`` is the execution result),
    ``error`` (``payload`` is a list of GraphQL errors for ``id``), ``complete``, ``ping``,
    ``pong``, ``ka`` (legacy keep-alive) or ``connection_error`` (legacy: init refused).
    """

    kind: str
    id: str | None = None
    payload: Any = None


_loads = json.loads


_TRANSPORT_KINDS = {"connection_ack": "ack", "next": "next", "error": "error",
                    "complete": "complete", "ping": "ping", "pong": "pong"}
_LEGACY_KINDS = {"connection_ack": "ack", "data": "next", "error": "error",
                 "complete": "complete", "ka": "ka", "connection_error": "connection_error"}
_NEEDS_ID = frozenset({"next", "error", "complete"})


def _dump(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


class Protocol:
    """Builds the client's frames and decodes the server's, for one subprotocol."""

    def __init__(self, subprotocol: str = TRANSPORT_WS) -> None:
        if subprotocol not in SUBPROTOCOLS:
            raise ValueError(f"unknown subprotocol {subprotocol!r}; known: {SUBPROTOCOLS}")
        self.subprotocol = subprotocol
        self.legacy = subprotocol == LEGACY_WS
        self._kinds = _LEGACY_KINDS if self.legacy else _TRANSPORT_KINDS
        self._next = "data" if self.legacy else "next"

    # -- client -> server --------------------------------------------------------------------
    def init(self, payload: Mapping[str, Any] | None) -> str:
        return _dump({"type": "connection_init", "payload": dict(payload or {})})

    def subscribe(self, id: str, query: str, variables: Mapping[str, Any] | None = None,
                  operation_name: str | None = None) -> str:
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = dict(variables)
        if operation_name:
            payload["operationName"] = operation_name
        return _dump({"id": id, "type": "start" if self.legacy else "subscribe",
                      "payload": payload})

    def complete(self, id: str) -> str:
        return _dump({"id": id, "type": "stop" if self.legacy else "complete"})

    def ping(self) -> str | None:
        """A protocol-level ping, or None where the protocol has none (legacy)."""
        return None if self.legacy else _dump({"type": "ping"})

    def pong(self) -> str:
        return _dump({"type": "pong"})

    def terminate(self) -> str | None:
        return _dump({"type": "connection_terminate"}) if self.legacy else None

    # -- server -> client --------------------------------------------------------------------
    def receive(self, text: str | bytes) -> Incoming:
        """Decode one server message; :class:`ProtocolViolation` says what was wrong."""
        try:
            message = _loads(text)
        except ValueError as exc:
            raise ProtocolViolation(f"not JSON: {str(text)[:80]!r}") from exc
        if (  # the hot path: a well-formed result
            type(message) is dict and message.get("type") == self._next
            and type(message.get("id")) is str and type(message.get("payload")) is dict
        ):
            return Incoming("next", message["id"], message["payload"])
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolViolation(f"not a message object with a `type`: {str(text)[:80]!r}")
        kind = self._kinds.get(message["type"])
        if kind is None:
            raise ProtocolViolation(f"unknown message type {message['type']!r} "
                                    f"for {self.subprotocol}")
        ident = message.get("id")
        if kind in _NEEDS_ID and not isinstance(ident, str):
            raise ProtocolViolation(f"`{message['type']}` without a string `id`")
        payload = message.get("payload")
        if kind == "next" and not isinstance(payload, dict):
            raise ProtocolViolation(f"`{message['type']}` payload must be an object")
        if kind == "error":
            payload = _errors(payload)
        return Incoming(kind, ident, payload)


def _errors(payload: Any) -> list[dict[str, Any]]:
    """An ``error`` payload as a list of error objects (legacy sends one object)."""
    items = payload if isinstance(payload, list) else [payload]
    return [e if isinstance(e, dict) else {"message": str(e)} for e in items]


def describe_close(code: int | None, reason: str = "") -> str:
    """``closed with 4403 'Forbidden: token expired'`` or ``link lost: no close frame``."""
    if code is None:
        return "link lost: no close frame"
    return f"closed with {code} {reason!r}"


__all__ = ["CLOSE_CODES", "FATAL_CLOSE_CODES", "LEGACY_WS", "SUBPROTOCOLS", "TRANSPORT_WS",
           "CloseKind", "Incoming", "Protocol", "ProtocolViolation", "close_kind",
           "describe_close"]
