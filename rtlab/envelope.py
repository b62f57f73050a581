"""Typed message envelopes: ``{"type", "payload", "id", "timestamp"}`` as JSON.

The demo servers speak this shape on every ``/ws/*`` path. Parsing is strict
about what matters (``type`` must be a non-empty string, the whole frame a JSON
object) and tolerant about what does not (a missing ``timestamp`` is ``None``,
not a crash as in the chapter's ``fromJson``; both ISO-8601 strings and epoch
seconds are read). Errors name the field and the value that was wrong.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rtlab.errors import EnvelopeError


def new_id() -> str:
    """A fresh message id (random, 12 hex digits: short enough to read in a widget)."""
    return uuid.uuid4().hex[:12]


def parse_timestamp(value: Any) -> datetime | None:
    """Read an envelope timestamp (ISO-8601 string or epoch seconds); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise EnvelopeError(f"timestamp must be an ISO-8601 string or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise EnvelopeError(f"timestamp {value!r} is not ISO-8601") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise EnvelopeError(f"timestamp must be an ISO-8601 string or epoch seconds, got {value!r}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One typed message. ``id`` is generated when not given, so acks can name it."""

    type: str
    payload: Any = None
    id: str = field(default_factory=new_id)
    timestamp: datetime | None = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "payload": self.payload,
            "id": self.id,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        if not isinstance(data, dict):
            raise EnvelopeError(f"an envelope is a JSON object, got {type(data).__name__}")
        kind = data.get("type")
        if not isinstance(kind, str) or not kind:
            raise EnvelopeError(f"envelope field 'type' must be a non-empty string, got {kind!r}")
        ident = data.get("id")
        if ident is not None and not isinstance(ident, str | int):
            raise EnvelopeError(f"envelope field 'id' must be a string, got {ident!r}")
        stamp = parse_timestamp(data.get("timestamp"))
        return cls(
            type=kind,
            payload=data.get("payload"),
            id="" if ident is None else str(ident),
            timestamp=stamp,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise EnvelopeError(f"not JSON: {exc}") from exc
        return cls.from_dict(data)
