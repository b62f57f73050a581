"""GraphQL events as JSON for the broker, and back: the records of :mod:`servers.graphql.data`
and :class:`servers.graphql.presence.PresenceEvent`.

JSON with a type name from a fixed list, not pickle: a process unpickling what it reads from
a shared Redis would run whatever anyone who can write there put in it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from servers.graphql import data
from servers.graphql.presence import PresenceEvent

TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    data.PostRecord, data.MessageRecord, data.NotificationRecord, data.CommentRecord,
    data.UserRecord, PresenceEvent,
)}


class UnknownEvent(ValueError):
    """A payload that is not one of :data:`TYPES`."""


def dumps(event: Any) -> bytes:
    name = type(event).__name__
    if TYPES.get(name) is not type(event):
        raise TypeError(f"cannot send a {name} through the broker (known: {', '.join(TYPES)})")
    fields = dataclasses.asdict(event)
    return json.dumps({"type": name, "fields": fields}, separators=(",", ":")).encode()


def loads(raw: bytes) -> Any:
    try:
        doc = json.loads(raw)
        cls = TYPES[doc["type"]]
        fields = dict(doc["fields"])
        if cls is data.MessageRecord:
            fields["attachments"] = tuple(data.Attachment(**a)
                                          for a in fields.get("attachments", ()))
        return cls(**fields)
    except (ValueError, KeyError, TypeError) as exc:
        raise UnknownEvent(f"not a broker event: {exc}") from None
