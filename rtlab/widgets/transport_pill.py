"""TransportPill: a StatusPill that also says which transport carries the link.

A Socket.IO client may run on long-polling or WebSocket; behind a proxy that blocks
upgrades it stays on polling while still "connected". The pill reads the transport
from the client's ``connected`` event (``detail="via polling"``), so it follows the
timeline like every view and never asks the client.
"""

from __future__ import annotations

from typing import Any

from rtlab.state import STATE, ConnectionState, Event

from .pill import StatusPill


class TransportPill(StatusPill):
    """``connected · polling``: the state pill plus the transport while connected."""

    def __init__(self, source: Any, label: str = "", *, min_interval: float = 0.1) -> None:
        self._base_label = str(label)
        self.transport: str | None = getattr(source, "transport", None)
        super().__init__(source, self._compose(), min_interval=min_interval)

    def _compose(self) -> str:
        via = f"via {self.transport}" if self.transport else ""
        return " · ".join(x for x in (self._base_label, via) if x)

    def _apply(self, item: Event) -> None:
        super()._apply(item)
        if item.kind == STATE and item.state is not None:
            connected = ConnectionState(item.state) is ConnectionState.CONNECTED
            via = item.detail[4:] if connected and item.detail.startswith("via ") else None
            self.transport = via
            self._label = self._compose()
