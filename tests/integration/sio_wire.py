"""A Socket.IO client that keeps every frame: Engine.IO 4 spoken over websockets' own client.

python-socketio's client hands events to handlers and hides the frames; the fan-out tests
need the frames themselves (their exact text, their order, acks and events interleaved) and
control over reading (a client that stops reading). Packets as socket.io-protocol v5 writes
them: ``40/ns,{auth}`` connects a namespace, ``42/ns,7["event",...]`` emits with ack id 7,
``43/ns,7[...]`` is the ack, ``2``/``3`` ping/pong (answered here, not kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect


async def login(base_url: str, username: str) -> str:
    """An access token (async: the server may run in this very loop)."""
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(f"{base_url}/auth/login",
                                 json={"username": username, "password": "password"})
    answer.raise_for_status()
    return answer.json()["access_token"]


def _prefix(namespace: str) -> str:
    return "" if namespace == "/" else f"{namespace},"


class WireClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []  # every text frame but pings, as received
        self.arrived = asyncio.Event()  # set on each frame kept
        self._ids = itertools.count(1)
        self._acks: dict[tuple[str, int], asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed: Exception | None = None

    @classmethod
    async def connect(cls, url: str, namespaces: dict[str, str | None],
                      **options: Any) -> WireClient:
        """``namespaces``: namespace -> token (None: a guest)."""
        ws_url = "ws" + url[4:] + "/socket.io/?EIO=4&transport=websocket"
        options.setdefault("compression", None)
        ws = await connect(ws_url, max_size=None, ping_interval=None, **options)
        opened = await ws.recv()
        assert isinstance(opened, str) and opened.startswith("0"), opened
        client = cls(ws)
        for namespace, token in namespaces.items():
            auth = json.dumps({"token": token}) if token else ""
            await ws.send(f"40{_prefix(namespace)}{auth}")
            answer = await ws.recv()
            assert isinstance(answer, str) and answer.startswith(f"40{_prefix(namespace)}"), answer
        client.reading(True)
        return client

    # -- reading --------------------------------------------------------------------------
    def reading(self, on: bool) -> None:
        """Start or stop reading frames (stopped, the kernel buffers fill and then the
        server's: a reader that stopped reading)."""
        if on and self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())
        elif not on and self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                assert isinstance(message, str)
                if message == "2":
                    await self.ws.send("3")
                    continue
                self._ack(message)
                self.frames.append(message)
                self.arrived.set()
        except Exception as exc:  # noqa: BLE001 - kept for the test to look at
            self.closed = exc
            self.arrived.set()

    def _ack(self, message: str) -> None:
        if not message.startswith("43"):
            return
        body = message[2:]
        namespace = "/"
        if body.startswith("/"):
            namespace, body = body.split(",", 1)
        digits = "".join(itertools.takewhile(str.isdigit, body))
        future = self._acks.pop((namespace, int(digits)), None)
        if future is not None and not future.done():
            future.set_result(json.loads(body[len(digits):])[0])

    async def wait_for(self, predicate: Any, timeout: float = 10) -> None:
        """Until ``predicate(self.frames)`` holds (checked on each frame)."""
        async def wait() -> None:
            while not predicate(self.frames):
                if self.closed is not None:
                    raise AssertionError(f"connection ended: {self.closed!r}")
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), timeout)

    # -- sending --------------------------------------------------------------------------
    async def emit(self, namespace: str, event: str, data: Any) -> None:
        await self.ws.send(f"42{_prefix(namespace)}{json.dumps([event, data])}")

    def call_nowait(self, namespace: str, event: str, data: Any) -> asyncio.Future[Any]:
        """Send an emit with an ack id now; the future resolves with the ack's argument."""
        n = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._acks[(namespace, n)] = future
        frame = f"42{_prefix(namespace)}{n}{json.dumps([event, data])}"
        asyncio.get_running_loop().create_task(self.ws.send(frame))
        return future

    async def call(self, namespace: str, event: str, data: Any, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.call_nowait(namespace, event, data), timeout)

    async def close(self) -> None:
        self.reading(False)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2)


def events(frames: list[str], namespace: str, name: str) -> list[str]:
    """The frames that are emits of ``name`` on ``namespace``, as text."""
    head = f'42{_prefix(namespace)}["{name}"'
    return [f for f in frames if f.startswith(head)]


def payload(frame: str) -> Any:
    """The first argument of an emit frame."""
    return json.loads(frame[frame.index("["):])[1]
