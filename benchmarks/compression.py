"""Compression on and off: bytes on the wire against CPU spent, for HTTP and WebSocket.

The measurements are :mod:`rtlab.teaching.compression`'s (notebook 07 runs them short),
here long enough for steady numbers:

* **gzip on GraphQL over HTTP**: the same large answer (100 posts with authors, ~8 kB of
  JSON) fetched ``N`` times with ``Accept-Encoding: gzip`` vs ``identity``;
* **permessage-deflate on a WebSocket**: ``N`` JSON messages of ~4 kB through
  ``/ws/echo`` with ``compression="deflate"`` vs ``None``.

Bytes are counted at the client's socket (headers and frames included); CPU is the client
process's CPU time plus the server process's, per message, both measured in the same run.
Targets: bytes with compression <= 0.35 of without; CPU is a figure (what the saving
costs), target: none.
"""

from __future__ import annotations

import asyncio

from benchmarks.report import Row
from rtlab.teaching.compression import Cost, http_answers, ws_echoes

BYTES_TARGET = 0.35


async def measure(http_url: str, ws_url: str, pid: int | None, n_http: int = 200,
                  n_ws: int = 2000) -> dict[str, Cost]:
    await http_answers(http_url, "gzip", 20)  # warm both paths
    await ws_echoes(ws_url, "deflate", 200)
    return {
        "http identity": await http_answers(http_url, "identity", n_http, pid),
        "http gzip": await http_answers(http_url, "gzip", n_http, pid),
        "ws none": await ws_echoes(ws_url, None, n_ws, pid),
        "ws deflate": await ws_echoes(ws_url, "deflate", n_ws, pid),
    }


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.http_url("/graphql"), server.ws_url("/ws/echo"), server.pid))
    rows = []
    for label, off, on, direction in (("GraphQL HTTP gzip", "http identity", "http gzip", "down"),
                                      ("WebSocket permessage-deflate", "ws none", "ws deflate",
                                       "both")):
        a, b = m[off], m[on]
        bytes_off, bytes_on = a.per_message(direction), b.per_message(direction)
        ratio = bytes_on / bytes_off
        what = "down" if direction == "down" else "up+down"
        rows.append(Row(f"{label}: bytes per message ({what})",
                        f"{bytes_off:.0f} B off", f"{bytes_on:.0f} B on",
                        f"{ratio:.2f} (target <= {BYTES_TARGET})", ratio <= BYTES_TARGET))
        rows.append(Row(f"{label}: CPU per message, client + server",
                        f"{a.cpu_us:.0f} us off", f"{b.cpu_us:.0f} us on",
                        f"{b.cpu_us / a.cpu_us:.2f} (a figure, no target)", True))
    return rows
