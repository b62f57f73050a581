"""After the bad inputs: does the server still serve normal traffic on every protocol, how much
memory does it hold, and what did it log?"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import socketio
from websockets.asyncio.client import connect

from tests.fuzz.wire import Target

TRACEBACK = re.compile(r"^Traceback \(most recent call last\):", re.MULTILINE)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux ``/proc``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def tracebacks(log_text: str) -> int:
    return len(TRACEBACK.findall(log_text))


def first_traceback(log_text: str, lines: int = 30) -> str:
    """The first traceback of ``log_text`` with the line logged before it."""
    match = TRACEBACK.search(log_text)
    if match is None:
        return ""
    start = log_text.rfind("\n", 0, max(match.start() - 1, 0)) + 1
    return "\n".join(log_text[start:].splitlines()[:lines])


async def normal_traffic(target: Target) -> list[str]:
    """Problems found on one round of ordinary requests per protocol (empty: all good)."""
    problems: list[str] = []

    async def check(name: str, coro: object) -> None:
        try:
            async with asyncio.timeout(10):
                await coro  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - report every failure by protocol
            problems.append(f"{name}: {type(exc).__name__}: {exc}")

    async with httpx.AsyncClient(timeout=5) as http:
        async def graphql_http() -> None:
            r = await http.post(target.http("/graphql"), json={"query": "{ posts { id } }"})
            assert len(r.json()["data"]["posts"]) == 10, r.text

        async def auth() -> None:
            r = await http.post(target.http("/auth/login"),
                                json={"username": "alice", "password": "password"})
            assert r.status_code == 200 and r.json()["token_type"] == "bearer", r.text

        async def sse() -> None:
            async with http.stream("GET", target.http("/sse/news?interval=0.01")) as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    if line.startswith("event: news"):
                        return

        async def ws() -> None:
            async with connect(target.ws("/ws/echo")) as socket:
                await socket.send(json.dumps({"type": "hello", "id": "h"}))
                assert json.loads(await socket.recv())["id"] == "h"

        async def graphql_ws() -> None:
            async with connect(target.ws("/graphql"), subprotocols=["graphql-transport-ws"]) as s:
                await s.send(json.dumps({"type": "connection_init"}))
                assert json.loads(await s.recv())["type"] == "connection_ack"
                await s.send(json.dumps({"id": "t", "type": "subscribe", "payload": {
                    "query": "subscription { ticks(count: 3) { n } }"}}))
                kinds = [json.loads(await s.recv())["type"] for _ in range(4)]
                assert kinds == ["next", "next", "next", "complete"], kinds

        async def socketio_both() -> None:
            for transports in (["polling"], ["websocket"]):
                client = socketio.AsyncClient(reconnection=False)
                await client.connect(target.http(""), transports=transports, wait_timeout=5)
                try:
                    assert await client.call("echo", {"n": 1}, timeout=5) == {"n": 1}
                finally:
                    await client.eio.disconnect(abort=True)

        for name, coro in (("graphql-http", graphql_http()), ("auth", auth()), ("sse", sse()),
                           ("ws", ws()), ("graphql-ws", graphql_ws()),
                           ("socketio", socketio_both())):
            await check(name, coro)
    return problems
