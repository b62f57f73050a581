"""``python -m benchmarks.loadgen.raw_server``: the baseline, a bare python-socketio server.

``socketio.AsyncServer`` under uvicorn with default settings and no rtlab code: ``/chat``
``join {room}`` enters the room and acks; ``chat_message {room, text}`` goes to the others
in the room as ``{id, ts, room, text, userId, user}`` (the same shape and size as the demo
server's) and acks ``{id, ts}``. No ``user_joined``: the plainest room broadcast there is.
Binds 127.0.0.1 on a free port and prints ``raw socketio ready on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from typing import Any

import socketio
import uvicorn

READY = "raw socketio ready on "


def make_app() -> Any:
    sio = socketio.AsyncServer(async_mode="asgi")
    ids = itertools.count(1)

    @sio.on("join", namespace="/chat")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room"], namespace="/chat")
        return {"room": data["room"]}

    @sio.on("chat_message", namespace="/chat")
    async def chat_message(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = {"id": f"m{next(ids)}", "ts": time.time()}
        message = {**answer, "room": data["room"], "text": data["text"], "userId": "1",
                   "user": "alice"}
        await sio.emit("chat_message", message, room=data["room"], skip_sid=sid,
                       namespace="/chat")
        return answer

    return socketio.ASGIApp(sio)


async def orphaned(parent: int) -> None:
    """Exit when the benchmark that started us is gone (we run in our own session)."""
    while os.getppid() == parent:
        await asyncio.sleep(1)
    os._exit(0)


async def serve() -> None:
    watch = asyncio.create_task(orphaned(os.getppid()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(make_app(), log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            raise SystemExit(1)
        await asyncio.sleep(0.005)
    print(f"{READY}http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    try:
        await task
    finally:
        watch.cancel()


if __name__ == "__main__":
    asyncio.run(serve())
