"""Helpers of the scale-out tests (``python -m servers --workers 2 --broker …``): placement is
forced, not hoped for. Every answer says which worker served it (``x-rtlab-worker``; a
Socket.IO session id starts with ``w<N>-``), and :func:`on_worker` connects again until the
connection lands on the worker a test needs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import socketio

T = TypeVar("T")
TRIES = 12  # new connections alternate between the workers: a few are always enough


async def on_worker(n: int, connect: Callable[[], Awaitable[T]], where: Callable[[T], int],
                    close: Callable[[T], Awaitable[Any]]) -> T:
    """A connection made by ``connect`` that landed on worker ``n``."""
    for _ in range(TRIES):
        conn = await connect()
        if where(conn) == n:
            return conn
        await close(conn)
    raise AssertionError(f"no connection landed on worker {n} in {TRIES} tries")


async def noop(_conn: Any) -> None:
    return None


def login(server, username: str = "alice") -> dict[str, Any]:
    answer = httpx.post(server.http_url("/auth/login"),
                        json={"username": username, "password": "password"},
                        headers={"connection": "close"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def sio_worker(client: socketio.AsyncClient) -> int:
    sid = client.eio.sid or ""
    assert sid.startswith("w"), sid
    return int(sid[1:].split("-", 1)[0])


async def sio_on(server, n: int, transports: list[str], token: str | None = None,
                 namespaces: tuple[str, ...] = ("/chat",)) -> socketio.AsyncClient:
    async def connect() -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(server.url, transports=transports, namespaces=list(namespaces),
                             auth={"token": token} if token else None, wait_timeout=5)
        return client

    async def close(client: socketio.AsyncClient) -> None:
        await client.eio.disconnect(abort=True)

    return await on_worker(n, connect, sio_worker, close)


def worker_pids(master_pid: int) -> dict[int, int]:
    """worker number -> pid, for the children of ``master_pid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != master_pid:
            continue
        if b"--worker-index" in args:
            found[int(args[args.index(b"--worker-index") + 1])] = int(entry.name)
    return found


async def log_says(server, text: str, timeout: float = 15.0) -> None:
    """Until the server's log holds ``text`` (the master reports on stderr only: no event
    to await, so the file is read every 50 ms, for at most ``timeout``)."""
    async with asyncio.timeout(timeout):
        while text not in server.log_text():
            await asyncio.sleep(0.05)
