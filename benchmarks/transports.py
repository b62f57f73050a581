"""The four transports side by side, against a raw WebSocket in the same run (notebook 08, long).

The measurements are :mod:`rtlab.teaching.transports`'s (notebook 08 runs them short), here
long enough for steady numbers, each as a ratio to rtlab's ``ReconnectingWebSocket`` on
``/ws/echo`` (round trips, rate) or on ``/ws/ticker`` without compression (bytes):

* **round trip**, median of ``N`` one at a time: a Socket.IO ``call`` and its ack (on its
  WebSocket, and on long-polling through the upgrade-blocking proxy), the chapter's GraphQL
  chat (a ``sendMessage`` mutation over HTTP until its subscription event arrives);
* **messages per second**, as fast as each goes (pipelined echoes and calls in flight
  together, at most ``transports.WINDOW`` ahead of their answers: the server drops a
  WebSocket peer more than 1024 messages behind; unpaced GraphQL ``ticks`` and SSE);
* **bytes per pushed message**, both ways, at 50 a second, counted by a ``ByteTap``.

All are figures: which transport to choose is not a speed target. What they back is what
notebook 08 says (a request per message multiplies the round trip; long-polling costs
whole HTTP headers per message).
"""

from __future__ import annotations

import asyncio

from benchmarks.report import Row
from rtlab import proxy
from rtlab.teaching import transports

ROUND_TRIPS = 500
PER_SECOND = 5000
PUSHED = 100
BOUND = 60.0  # seconds for the whole run: a lost message fails it instead of hanging it


async def measure(server, blocking) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"rtt": {}, "rate": {}, "bytes": {}}
    for name in ("WebSocket", "Socket.IO", "GraphQL"):
        await transports.round_trips(name, server, 20)  # warm each path
        out["rtt"][name] = transports.median_ms(
            await transports.round_trips(name, server, ROUND_TRIPS))
    out["rtt"]["Socket.IO, polling"] = transports.median_ms(
        await transports.round_trips("Socket.IO", blocking, ROUND_TRIPS // 5))
    for name in ("WebSocket", "Socket.IO", "GraphQL", "SSE"):
        out["rate"][name] = await transports.per_second(name, server, PER_SECOND)
    pushed = await asyncio.gather(
        transports.push_bytes("WebSocket", server, PUSHED, label="WebSocket", compression=None),
        transports.push_bytes("WebSocket", server, PUSHED, label="WebSocket, deflate"),
        transports.push_bytes("GraphQL", server, PUSHED),
        transports.push_bytes("Socket.IO", server, PUSHED),
        transports.push_bytes("Socket.IO", blocking, PUSHED, label="Socket.IO, polling"),
        transports.push_bytes("SSE", server, PUSHED),
    )
    out["bytes"] = {b.transport: b.wire for b in pushed}
    return out


def run(server) -> list[Row]:
    blocking = proxy.start(server)
    try:
        m = asyncio.run(asyncio.wait_for(measure(server, blocking), BOUND))
    finally:
        blocking.stop()
    rows = []
    for kind, unit, what in (("rtt", "ms", "round trip (median)"),
                             ("rate", "msg/s", "messages per second"),
                             ("bytes", "B", "bytes per pushed message, both ways")):
        base = m[kind]["WebSocket"]
        for name, value in m[kind].items():
            if name == "WebSocket":
                continue
            rows.append(Row(f"{name}: {what}", f"{base:,.2f} {unit} raw WebSocket",
                            f"{value:,.2f} {unit}",
                            f"{value / base:.2f} (a figure, no target)", True))
    return rows
