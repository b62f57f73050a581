"""The class's speaker: python-socketio's own client in the room, sending ``chat_message`` at a
steady rate with its send time inside (what the listeners measure latency from)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import socketio

from benchmarks.loadgen.session import broadcast_text


class Broadcaster:
    def __init__(self, sio: socketio.AsyncClient, room: str) -> None:
        self.sio = sio
        self.room = room
        self.seq = 0

    @classmethod
    async def join(cls, url: str, room: str) -> Broadcaster:
        """Signed in as alice where there is ``/auth/login`` (the demo server refuses guests'
        messages), as a guest elsewhere."""
        auth = None
        async with httpx.AsyncClient(trust_env=False) as http:
            answer = await http.post(f"{url}/auth/login",
                                     json={"username": "alice", "password": "password"})
            if answer.status_code == 200:
                auth = {"token": answer.json()["access_token"]}
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        await sio.connect(url, namespaces=["/chat"], transports=["websocket"], auth=auth,
                          wait_timeout=30)
        await sio.call("join", {"room": room}, namespace="/chat", timeout=60)
        return cls(sio, room)

    async def run(self, seconds: float, rate: float) -> list[int]:
        """Send for ``seconds`` at ``rate`` a second; the sequence numbers sent."""
        sent = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(int(seconds * rate)):
            await asyncio.sleep(max(start + i / rate - loop.time(), 0))
            self.seq += 1
            await self.sio.emit("chat_message",
                                {"room": self.room, "text": broadcast_text(self.seq, time.time())},
                                namespace="/chat")
            sent.append(self.seq)
        await asyncio.sleep(max(start + seconds - loop.time(), 0))
        return sent

    async def leave(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.eio.disconnect(abort=True)
