"""A simulated class on one classroom server: for the instructor notebook when no real class
has joined (and in CI), and for the classroom tests.

Each student is its own client id (a :class:`rtlab.remote.RemoteServer` handle of its own, as
each student's notebook would have) with one client, the protocols taken in turn: a raw
WebSocket in the chat room ``/ws/chat?room=class``, an SSE news feed, and Socket.IO's
``/chat`` namespace in the room ``class``. All reconnect with full jitter by default, as a
class should.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rtlab.backoff import Exponential, Policy
from rtlab.remote import RemoteServer, split
from rtlab.socketio import SocketIOClient
from rtlab.sse import ReconnectingEventSource
from rtlab.state import STATE, ConnectionState, Timeline
from rtlab.waiting import until
from rtlab.ws import ReconnectingWebSocket

PROTOCOLS = ("ws", "sse", "socketio")
ROOM = "class"


def jittered() -> Policy:
    return Exponential(base=0.2, cap=2.0, jitter="full")


@dataclass
class Student:
    name: str
    protocol: str
    server: RemoteServer
    client: Any


def _client(protocol: str, server: RemoteServer, policy: Policy, rng: int, name: str) -> Any:
    if protocol == "ws":
        return ReconnectingWebSocket(server.ws_url(f"/ws/chat?room={ROOM}"), policy=policy,
                                     rng=rng, heartbeat_interval=None, name=name)
    if protocol == "sse":
        # 503 while the server "restarts": retried (the spec says stop; a class wants back)
        return ReconnectingEventSource(server.http_url("/sse/news?interval=1&retry=200"),
                                       policy=policy, rng=rng, heartbeat_timeout=None,
                                       retry_statuses=(503,), name=name)
    if protocol == "socketio":
        client = SocketIOClient(server.url, namespaces=["/chat"], transports=("websocket",),
                                policy=policy, rng=rng, name=name)

        async def rejoin() -> None:  # rooms do not survive a reconnect: join again each time
            await client.emit("join", {"room": ROOM}, namespace="/chat")

        client.on("connect", rejoin, namespace="/chat")
        return client
    raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")


class SimulatedClass:
    """``n`` students of one laptop (``prefix`` tells laptops apart) on the server at ``url``."""

    def __init__(self, url: str, token: str | None = None, n: int = 30, *,
                 prefix: str = "sim", protocols: Sequence[str] = PROTOCOLS,
                 policy: Callable[[], Policy] = jittered) -> None:
        base, join = split(url, token)
        self.students = []
        for i in range(n):
            name = f"{prefix}-{i:02d}"
            server = RemoteServer(base, join, name)
            protocol = protocols[i % len(protocols)]
            self.students.append(Student(name, protocol, server,
                                         _client(protocol, server, policy(), i, name)))

    @property
    def clients(self) -> list[Any]:
        return [s.client for s in self.students]

    async def join(self, timeout: float = 20.0) -> None:
        """Connect everyone (at once, as a class does when told to run the first cell)."""
        await asyncio.wait_for(asyncio.gather(*(c.connect() for c in self.clients)), timeout)

    async def back(self, since: float, timeout: float = 20.0) -> None:
        """Wait until every student has connected again after ``since`` (``time.monotonic()``
        taken before the restart or drop: a client may not have noticed it yet)."""

        def returned(timeline: Timeline) -> bool:
            return any(e.state is ConnectionState.CONNECTED and e.t > since
                       for e in timeline.of_kind(STATE))

        await asyncio.wait_for(asyncio.gather(
            *(until(c.timeline, returned) for c in self.clients)), timeout)

    def states(self) -> dict[str, int]:
        return dict(collections.Counter(c.state.value for c in self.clients))

    def count(self, protocol: str) -> int:
        return sum(s.protocol == protocol for s in self.students)

    async def heard(self, message_id: str, timeout: float = 5.0) -> int:
        """How many WebSocket students receive the chat message ``message_id`` (waiting up
        to ``timeout`` for each)."""

        async def hears(client: Any) -> bool:
            while True:
                message = await client.recv()
                if isinstance(message, dict) and message.get("id") == message_id:
                    return True

        waits = [asyncio.wait_for(hears(s.client), timeout)
                 for s in self.students if s.protocol == "ws"]
        results = await asyncio.gather(*waits, return_exceptions=True)
        return sum(r is True for r in results)

    async def leave(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    aclose = leave  # lab.keep closes a simulated class like a client

    async def __aenter__(self) -> SimulatedClass:
        await self.join()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.leave()
