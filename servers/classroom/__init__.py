"""Classroom mode: one server for a whole class (``python -m servers --classroom``).

- Every request and WebSocket carries the join token (students) or the instructor token
  (``?join=TOKEN`` or header ``X-Rtlab-Join``) and a client id (``?client=ID``):
  :mod:`servers.classroom.members`. Anything else is refused in the protocol's own words:
  :mod:`servers.classroom.gate`.
- Per-client limits (message rate, connections per client, connections in all) count through
  a two-method interface a broker can back (:mod:`servers.classroom.counters`,
  :mod:`servers.classroom.limits`).
- ``/_chaos/*`` is served, scoped by role: the instructor breaks every link, a student only
  their own client id's (``servers.chaos`` reads the caller from the scope).
- ``GET /_classroom/stats`` (instructor only): who is connected on which protocol, messages
  per second, the reconnect attempts per 100 ms since the last class-wide break
  (:mod:`servers.classroom.routes`, :mod:`servers.classroom.record`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers.classroom.counters import Counters, LocalCounters
from servers.classroom.gate import Gate
from servers.classroom.limits import Admission, Limits
from servers.classroom.members import INSTRUCTOR
from servers.classroom.record import Herd, PerSecond
from servers.transport import CLIENT_KEY, ROLE_KEY, Registry, client_of

__all__ = ["Classroom", "Config", "Counters", "Limits", "LocalCounters"]

MAX_SEEN = 1000  # client ids remembered by /_classroom/stats "seen"


def new_token() -> str:
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class Config:
    join_token: str = field(default_factory=new_token)
    instructor_token: str = field(default_factory=new_token)
    limits: Limits = field(default_factory=Limits)
    join_host: str | None = None  # host in the printed join URL (None: found out)
    instructor_file: Path | None = None  # where the instructor token goes (None: a temp file)
    qr: bool = True

    def __post_init__(self) -> None:
        if self.join_token == self.instructor_token:
            raise ValueError("the join token and the instructor token must differ")


class Classroom:
    """The state of one classroom server: who may come in, what they may do, what happened."""

    def __init__(self, config: Config, registry: Registry,
                 counters: Counters | None = None) -> None:
        self.config = config
        self.registry = registry
        self.admission = Admission(config.limits, counters or LocalCounters())
        self.herd = Herd()
        self.messages_in = PerSecond()
        self.messages_out = PerSecond()
        self.seen: dict[str, float] = {}  # client id -> when it last opened something

    def saw(self, client: str, now: float) -> None:
        self.seen.pop(client, None)
        self.seen[client] = now
        if len(self.seen) > MAX_SEEN:
            self.seen.pop(next(iter(self.seen)))

    def wrap(self, app: Any) -> Gate:
        return Gate(app, self)

    def broke_everyone(self, cause: str) -> None:
        """The instructor broke every link (``/_chaos`` drop, restart, reject): a herd starts."""
        self.herd.start(time.monotonic(), cause)

    async def admit_event(self, scope: dict[str, Any] | None) -> str | None:
        """A Socket.IO event arrives: None, or why it is refused (sent back as its ack)."""
        self.messages_in.add(time.monotonic())
        if not scope or scope.get(ROLE_KEY) in (None, INSTRUCTOR):
            return None
        refusal = await self.admission.message(scope[CLIENT_KEY])
        return None if refusal is None else refusal.message

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        protocols: dict[str, dict[str, Any]] = {}
        everyone: set[str] = set()
        for proto, name, _endpoint in self.registry.connections():
            client = client_of(proto)
            if client is None:
                continue
            entry = protocols.setdefault(name, {"connections": 0, "clients": {}})
            entry["connections"] += 1
            entry["clients"][client] = entry["clients"].get(client, 0) + 1
            everyone.add(client)
        for entry in protocols.values():
            entry["clients"] = dict(sorted(entry["clients"].items()))
        return {
            "protocols": dict(sorted(protocols.items())),
            "clients": sorted(everyone),
            "connections": sum(p["connections"] for p in protocols.values()),
            "seen": {c: round(now - t, 1) for c, t in sorted(self.seen.items())},
            "messages_per_second": {"in": self.messages_in.rate(now),
                                    "out": self.messages_out.rate(now)},
            "herd": self.herd.summary(now),
            "limits": self.config.limits.as_dict(),
        }
