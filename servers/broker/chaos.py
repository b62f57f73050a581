"""``/_chaos`` for every worker: an operation answered by one worker is done by all.

A student's links may be spread over the workers (a WebSocket here, an event stream there),
and an instructor's class-wide break must reach the whole class. So after a route has done
its operation (:meth:`servers.chaos.ChaosState.perform`), the relay publishes it — name,
parameters, whose links — on the bus, and every other worker performs it on its own links.
The route answers with what its own worker did (``dropped``: that worker's links).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from servers.broker import Broker
from servers.chaos import OPERATIONS, ChaosState

CHANNEL = "chaos"


class ChaosRelay:
    def __init__(self, broker: Broker, state: ChaosState) -> None:
        self.bus = broker.bus
        self.state = state
        self.origin = uuid.uuid4().hex
        self.bus.on(CHANNEL, self._perform)

    async def share(self, op: str, params: dict[str, Any], client: str | None) -> None:
        message = {"op": op, "params": params, "client": client, "origin": self.origin}
        await self.bus.publish(CHANNEL, json.dumps(message))

    def _perform(self, data: bytes) -> None:
        message = json.loads(data)
        if message.get("origin") != self.origin and message.get("op") in OPERATIONS:
            self.state.perform(message["op"], message["params"], message["client"])
