"""Two laptops' worth of simulated students (2 x 30, across raw WebSocket, SSE and Socket.IO)
join one classroom server by URL + token; the instructor sees them all, a chat message crosses
from one laptop to the other, and a class-wide restart brings everyone back as a counted herd."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path

import httpx

from rtlab.teaching.simclass import SimulatedClass

_spec = importlib.util.spec_from_file_location(
    "classroom_support", Path(__file__).with_name("classroom_support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
classroom = support.classroom  # fixture


async def stats(teacher) -> dict:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(teacher.http_url("/_classroom/stats"))).json()


async def test_two_laptops_of_thirty_join_one_server_by_url_and_token(classroom) -> None:
    join_url = f"{classroom.base}/?join={support.JOIN}"  # as the server prints it
    laptops = [SimulatedClass(join_url, n=30, prefix=p) for p in ("laptop1", "laptop2")]
    teacher = classroom.instructor()
    try:
        await asyncio.gather(*(laptop.join(timeout=30) for laptop in laptops))
        assert [laptop.states() for laptop in laptops] == [{"connected": 30}] * 2

        seen = await stats(teacher)
        per_protocol = {name: len(entry["clients"]) for name, entry in seen["protocols"].items()}
        assert per_protocol == {"ws": 20, "sse": 20, "socketio": 20}
        assert len([c for c in seen["clients"] if c.startswith("laptop")]) == 60

        sender = next(s for s in laptops[0].students if s.protocol == "ws").client
        readers = [s.client for s in laptops[1].students if s.protocol == "ws"]
        await sender.send({"type": "message", "payload": {"text": "hello class"}, "id": "m1"})
        for reader in readers:  # every ws student of the other laptop gets it
            while True:
                message = await asyncio.wait_for(reader.recv(), 5)
                if message.get("type") == "message":
                    break
            assert message["payload"] == {"text": "hello class"}

        since = time.monotonic()
        answer = await teacher.chaos.arestart(seconds=0.5)
        assert answer["dropped"] >= 60
        await asyncio.gather(*(laptop.back(since, timeout=30) for laptop in laptops))
        herd = (await stats(teacher))["herd"]
        assert herd["cause"] == "restart"
        assert herd["total"] >= 60  # each student came back at least once
        assert json.dumps(herd["attempts"])  # a histogram the instructor notebook can draw
    finally:
        await asyncio.gather(*(laptop.leave() for laptop in laptops))
