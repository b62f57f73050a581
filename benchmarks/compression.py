"""Compression on and off: bytes on the wire against CPU spent, for HTTP and WebSocket.

* **gzip on GraphQL over HTTP**: the same large answer (100 posts with authors, ~8 kB of
  JSON) fetched ``N`` times with ``Accept-Encoding: gzip`` vs ``identity``. The server
  gzips answers of 1 kB and more (Starlette's ``GZipMiddleware``, level 6).
* **permessage-deflate on a WebSocket** (RFC 7692; uvicorn's websockets implementation
  negotiates it, websockets' client offers it by default): ``N`` JSON messages of ~4 kB
  (a news page: 40 items, each with its own id and numbered title) through ``/ws/echo``
  with ``compression="deflate"`` vs ``None``. The compression context is kept between
  messages, so what repeats across messages compresses too.

Bytes are counted at the client's socket (:mod:`rtlab.graphql.wire`, headers and frames
included); CPU is the client process's CPU time plus the server process's (from
``/proc/<pid>/stat``), per message, both measured in the same run. Targets: bytes with
compression <= 0.35 of without; CPU is a figure (what the saving costs), target: none.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect

from benchmarks.report import Row
from rtlab.graphql.http import HttpLink
from rtlab.graphql.links import Operation
from rtlab.graphql.wire import WireStats, counting_connection

BYTES_TARGET = 0.35
BIG = "{ posts(limit: 100) { id title content createdAt author { id name username } } }"


def message(i: int) -> str:
    items = [{"id": i * 40 + k, "title": f"Backoff with jitter, part {i * 40 + k}",
              "summary": "why reconnecting clients spread out"} for k in range(40)]
    return json.dumps({"type": "news", "id": str(i), "payload": {"items": items}})


def _server_cpu(pid: int | None) -> float:
    """utime + stime of a process, in seconds (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def _metered(pid: int | None, work: Callable[[], Awaitable[WireStats]]
                   ) -> tuple[WireStats, float]:
    cpu0, server0 = time.process_time(), _server_cpu(pid)
    stats = await work()
    return stats, (time.process_time() - cpu0) + (_server_cpu(pid) - server0)


async def _http(url: str, encoding: str, n: int) -> WireStats:
    async with HttpLink(url, headers={"Accept-Encoding": encoding}) as link:
        for _ in range(n):
            await link.request(Operation.of(BIG))
        return link.wire


async def _ws(url: str, compression: str | None, n: int) -> WireStats:
    stats = WireStats()
    async with connect(url, compression=compression, proxy=None,
                       create_connection=counting_connection(stats)) as ws:
        for i in range(n):
            await ws.send(message(i))
            await ws.recv()
    return stats


async def measure(http_url: str, ws_url: str, pid: int | None, n_http: int = 200,
                  n_ws: int = 2000) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    await _http(http_url, "gzip", 20)  # warm both paths
    await _ws(ws_url, "deflate", 200)
    for name, work, n in (
        ("http identity", lambda: _http(http_url, "identity", n_http), n_http),
        ("http gzip", lambda: _http(http_url, "gzip", n_http), n_http),
        ("ws none", lambda: _ws(ws_url, None, n_ws), n_ws),
        ("ws deflate", lambda: _ws(ws_url, "deflate", n_ws), n_ws),
    ):
        stats, cpu = await _metered(pid, work)
        out[name] = {"down": stats.bytes_down / n, "up": stats.bytes_up / n,
                     "cpu_us": cpu / n * 1e6}
    return out


def run(server) -> list[Row]:
    m = asyncio.run(measure(server.http_url("/graphql"), server.ws_url("/ws/echo"), server.pid))
    rows = []
    for label, off, on, what in (("GraphQL HTTP gzip", "http identity", "http gzip", "down"),
                                 ("WebSocket permessage-deflate", "ws none", "ws deflate",
                                  "both")):
        a, b = m[off], m[on]
        bytes_off = a["down"] + (a["up"] if what == "both" else 0)
        bytes_on = b["down"] + (b["up"] if what == "both" else 0)
        ratio = bytes_on / bytes_off
        rows.append(Row(f"{label}: bytes per message ({'down' if what == 'down' else 'up+down'})",
                        f"{bytes_off:.0f} B off", f"{bytes_on:.0f} B on",
                        f"{ratio:.2f} (target <= {BYTES_TARGET})", ratio <= BYTES_TARGET))
        rows.append(Row(f"{label}: CPU per message, client + server",
                        f"{a['cpu_us']:.0f} us off", f"{b['cpu_us']:.0f} us on",
                        f"{b['cpu_us'] / a['cpu_us']:.2f} (a figure, no target)", True))
    return rows
