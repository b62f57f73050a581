"""One Socket.IO listener as a sans-I/O state machine: Engine.IO packets in, packets out.

Engine.IO 4 / Socket.IO 5 as the reference servers speak them (socket.io-protocol v5):
``0{...}`` opens the session, ``40/chat,`` connects the namespace, ``42/chat,1["join",...]``
emits with ack id 1, ``43/chat,1[...]`` is its ack, ``2``/``3`` are ping/pong. The same
core drives the WebSocket shell and the long-polling shell (:mod:`benchmarks.loadgen.sio`),
so both transports speak exactly the same Socket.IO.

A broadcast ``chat_message`` whose ``text`` is ``{"t": send_time, "k": seq}`` (what the
benchmark's broadcaster sends) is handed to ``on_message(k, t)``; anything else
(``user_joined``, acks of other calls) is read and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

EVENT = "chat_message"


class Refused(Exception):
    """The server refused the namespace (``connect_error``) or closed the session."""


class SioSession:
    """Open -> namespace connect -> join ``room`` (with ack) -> listen."""

    def __init__(self, namespace: str, room: str, on_message: Callable[[int, float], None],
                 auth: dict[str, Any] | None = None) -> None:
        self.namespace = namespace
        self.prefix = "" if namespace == "/" else f"{namespace},"
        self.room = room
        self.on_message = on_message
        self.auth = auth
        self.joined = False
        self.refused: str | None = None

    def feed(self, packet: str) -> list[str]:
        """Handle one Engine.IO packet; return the packets to send back (in order)."""
        if not packet:
            return []
        kind = packet[0]
        if kind == "2":
            return ["3" + packet[1:]]
        if kind == "0":
            auth = json.dumps(self.auth, separators=(",", ":")) if self.auth else ""
            return [f"40{self.prefix}{auth}"]
        if kind == "1":
            self.refused = self.refused or "server closed the Engine.IO session"
            return []
        if kind != "4" or len(packet) < 2:
            return []
        sio, body = packet[1], packet[2:]
        if self.prefix:
            if not body.startswith(self.prefix):
                return []
            body = body[len(self.prefix):]
        if sio == "2":
            self._event(body)
        elif sio == "0":
            room = json.dumps({"room": self.room}, separators=(",", ":"))
            return [f"42{self.prefix}1[\"join\",{room}]"]
        elif sio == "3" and body.startswith("1["):
            answer = json.loads(body[1:])[0]
            if isinstance(answer, dict) and "error" in answer:
                self.refused = f"join refused: {answer['error']}"
            else:
                self.joined = True
        elif sio == "4":
            self.refused = f"connect_error {body}"
        elif sio == "1":
            self.refused = self.refused or "server disconnected the namespace"
        return []

    def _event(self, body: str) -> None:
        # the cheap test first: most packets during a ramp are user_joined
        if not body.startswith(f'["{EVENT}"'):
            return
        args = json.loads(body)
        text = args[1].get("text") if len(args) > 1 and isinstance(args[1], dict) else None
        if not isinstance(text, str) or not text.startswith("{"):
            return
        stamp = json.loads(text)
        self.on_message(int(stamp["k"]), float(stamp["t"]))


def broadcast_text(seq: int, sent: float) -> str:
    """The broadcaster's ``text``: what :meth:`SioSession._event` reads back."""
    return json.dumps({"t": sent, "k": seq}, separators=(",", ":"))
