"""WebSocket close reasons that the wire can carry, whatever a handler (or library) passes.

RFC 6455 §5.5: a control frame carries at most 125 bytes, two of them the close code, so a
reason is at most 123 bytes of valid UTF-8 (§5.5.1, §8.1). websockets refuses anything else
with an exception inside ``send``, and the connection then drops with no close frame at all
(the client sees 1006) instead of the close code the handler meant. A reason that quotes the
client's input (an unknown message type, a syntax error) easily breaks either rule, so
:class:`CloseReasons` fixes every ``websocket.close`` on its way out: lone surrogates become
``?`` and an over-long reason is cut at a character boundary and ends with ``…``.
"""

from __future__ import annotations

from typing import Any

MAX_BYTES = 123
ELLIPSIS = "…"


def legal(reason: str) -> str:
    """``reason`` as valid UTF-8 of at most :data:`MAX_BYTES` bytes."""
    data = reason.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    if len(data) <= MAX_BYTES:
        return data.decode("utf-8")
    room = MAX_BYTES - len(ELLIPSIS.encode())
    return data[:room].decode("utf-8", "ignore") + ELLIPSIS  # "ignore" drops a cut character


class CloseReasons:
    """ASGI middleware: every WebSocket close reason leaves as a legal one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def send_legal(message: Any) -> None:
            if message.get("type") == "websocket.close" and message.get("reason"):
                message = {**message, "reason": legal(str(message["reason"]))}
            await send(message)

        await self.app(scope, receive, send_legal)
