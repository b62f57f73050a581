"""A finished HTTP request is freed by reference counting, not left for the garbage collector.

Long-polling is two requests a second per client. Each used to leave a reference cycle (the
``rtlab.transport`` scope extension held the request's own cycle object; engineio's ASGI
translation made a class per request) holding uvicorn's whole request cycle: at 400 polling
clients, generation-1 collections of ~70,000 objects every few seconds, 120-250 ms each, with
every client stalled (``benchmarks/classroom.py``'s polling case). The server runs in the
test's loop (:mod:`inprocess`) so the test can ask its collector.
"""

from __future__ import annotations

import gc

import httpx

from tests.integration.inprocess import demo_server

REQUESTS = 20


async def test_socketio_polling_requests_leave_no_cycles() -> None:
    async with demo_server() as run, httpx.AsyncClient(base_url=run.url,
                                                       trust_env=False) as http:
        base = "/socket.io/?EIO=4&transport=polling"
        opened = await http.get(base)
        sid = opened.text.split('"sid":"', 1)[1].split('"', 1)[0]
        await http.post(f"{base}&sid={sid}", content=b"3")  # a warm-up on the same connection
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(REQUESTS):
                answer = await http.post(f"{base}&sid={sid}", content=b"3")  # a pong: "ok"
                assert answer.status_code == 200
            gc.collect()
            held = [type(o).__name__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert held.count("RequestResponseCycle") == 0, f"{len(held)} objects in cycles"
