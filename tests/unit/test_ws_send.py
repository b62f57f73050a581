"""ReconnectingWebSocket's send paths with a stand-in connection whose writes wait at a gate:
a message sent while another is being written is queued, and written right after it."""

import asyncio

from rtlab.state import FRAME_OUT
from rtlab.waiting import until_count
from rtlab.ws import ReconnectingWebSocket


class GatedSocket:
    """Stands for a websockets connection: ``send`` waits until the gate opens."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.sent: list[str | bytes] = []

    async def send(self, frame: str | bytes) -> None:
        await self.gate.wait()
        self.sent.append(frame)


async def test_a_message_sent_during_a_write_goes_right_after_it() -> None:
    c = ReconnectingWebSocket("ws://127.0.0.1:9/", heartbeat_interval=None)
    socket = GatedSocket()
    c._ws, c._connected = socket, True  # as a live session leaves them
    sender = asyncio.ensure_future(c._sender(socket))
    first = asyncio.ensure_future(c.send({"n": 1}))  # the fast path: waits at the gate
    await asyncio.sleep(0)  # one turn: the first write is under way
    await c.send({"n": 2})  # queued behind it; the sender is woken ...
    await asyncio.sleep(0)  # ... sees a write under way, and waits again
    assert c.pending == 2 and socket.sent == []
    socket.gate.set()
    await first
    await until_count(c.timeline, FRAME_OUT, 2, timeout=2)
    assert socket.sent == ['{"n":1}', '{"n":2}'] and c.pending == 0
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
