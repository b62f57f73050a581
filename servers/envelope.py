"""The JSON envelope every /ws/* message uses: ``{"type", "payload", "id", "timestamp"}``.

``timestamp`` is an ISO-8601 UTC string with milliseconds and a ``Z`` suffix
(``"2026-11-25T23:59:01.123Z"``): readable in a notebook, parseable in every language.
Server-made envelopes always carry all four keys; ``id`` is None when nothing is answered.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from servers import safejson


class EnvelopeError(ValueError):
    """A frame that is not a JSON object with a string ``type``."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def make(type: str, payload: Any = None, id: str | None = None) -> dict[str, Any]:
    return {"type": type, "payload": payload, "id": id, "timestamp": now()}


def error(message: str, id: str | None = None) -> dict[str, Any]:
    return make("error", {"message": message}, id)


def parse(data: str | bytes) -> dict[str, Any]:
    """Decode one frame (depth-bounded, see :mod:`servers.safejson`); raise EnvelopeError with
    a message fit for an ``error`` envelope."""
    try:
        value = safejson.loads(data)
    except safejson.JSONError as exc:
        raise EnvelopeError(str(exc)) from None
    if not isinstance(value, dict):
        raise EnvelopeError(f"expected a JSON object, got {type(value).__name__}")
    if not isinstance(value.get("type"), str):
        raise EnvelopeError('missing string field "type"')
    return value


def dumps(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, separators=(",", ":"))
