"""The thundering herd: many clients, one server restart, with and without jitter.

``stampede`` runs the experiment for real: it connects ``n``
``ReconnectingWebSocket`` clients per policy to the demo server, kills
the server, keeps it down for ``down_for`` seconds, restarts it on the
same port and waits until every client is back. The
result is every connect attempt's time, relative to the kill, per policy;
``rtlab.widgets.svg.bin_counts`` turns it into load per 100 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from rtlab.backoff import Policy
from rtlab.state import ATTEMPT, ConnectionState
from rtlab.ws import ReconnectingWebSocket


async def stampede(
    server: Any,
    policies: Mapping[str, Policy],
    *,
    n: int = 50,
    down_for: float = 1.0,
    path: str = "/ws/echo",
    timeout: float = 15.0,
) -> dict[str, list[float]]:
    """Kill and restart ``server`` under ``n`` clients per policy; attempt times per policy."""
    crowds: dict[str, list[ReconnectingWebSocket]] = {
        name: [
            ReconnectingWebSocket(
                server.ws_url(path),
                policy=policy,
                rng=i,
                heartbeat_interval=None,
                name=f"{name}#{i}",
            )
            for i in range(n)
        ]
        for name, policy in policies.items()
    }
    everyone = [c for crowd in crowds.values() for c in crowd]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.connect() for c in everyone)), timeout)
        killed_at = time.monotonic()
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(down_for)  # the outage itself is the experiment's parameter
        await asyncio.to_thread(server.restart)
        await asyncio.wait_for(
            asyncio.gather(*(c.wait_for(ConnectionState.CONNECTED) for c in everyone)), timeout
        )
        return {
            name: sorted(
                e.t - killed_at for c in crowd for e in c.timeline.of_kind(ATTEMPT)
            )
            for name, crowd in crowds.items()
        }
    finally:
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)
