"""Who is connected to WS /graphql: every accepted connection counts once, signed in or not.

Pure bookkeeping (the caller passes ``now``): :meth:`Presence.connect` and
:meth:`Presence.disconnect` return the :class:`PresenceEvent` to publish. A user with two
tabs open stays ONLINE until the last one closes. Anonymous connections are ``guest-N``.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PresenceEvent:
    user_id: str
    status: str  # "ONLINE" | "OFFLINE"
    online_count: int
    connection_count: int
    timestamp: float


@dataclass
class Presence:
    connections: collections.Counter[str] = field(default_factory=collections.Counter)
    _guests: itertools.count = field(default_factory=lambda: itertools.count(1))

    def guest_id(self) -> str:
        return f"guest-{next(self._guests)}"

    def connect(self, user_id: str, now: float) -> PresenceEvent:
        self.connections[user_id] += 1
        return self._event(user_id, now)

    def disconnect(self, user_id: str, now: float) -> PresenceEvent:
        if self.connections[user_id] <= 1:
            del self.connections[user_id]
        else:
            self.connections[user_id] -= 1
        return self._event(user_id, now)

    def _event(self, user_id: str, now: float) -> PresenceEvent:
        status = "ONLINE" if self.connections.get(user_id, 0) > 0 else "OFFLINE"
        return PresenceEvent(
            user_id, status, len(self.connections), sum(self.connections.values()), now
        )
