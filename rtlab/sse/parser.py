"""A sans-I/O parser for ``text/event-stream``: bytes in, dispatched events out.

It implements the WHATWG HTML Standard, section 9.2.5 "Parsing an event stream"
and section 9.2.6 "Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html), to the letter:

* The stream is UTF-8 whatever the ``Content-Type`` says; one leading U+FEFF
  (byte order mark) is dropped; invalid bytes become U+FFFD.
* Lines end with CRLF, LF or a lone CR, and a CRLF split across two chunks is
  still one line end.
* A line starting with ``:`` is a comment. Otherwise the field name runs up
  to the first colon (or is the whole line, with an empty value), and exactly
  one space after the colon is removed: ``data:  x`` carries `` x``.
* ``data`` appends the value and a LF to the data buffer; ``event`` sets the
  type; ``id`` sets the last event id unless the value contains U+0000;
  ``retry`` sets the reconnection time only when it is all ASCII digits;
  any other field is ignored.
* A blank line dispatches: the last event id is updated first (so an id-only
  block moves it), then an empty data buffer means *no event*; otherwise the
  last LF is removed and an event is returned, typed ``message`` if no type
  was given. The last event id is kept across events, not reset.
* At the end of the stream an unfinished event is discarded (:meth:`close`).

No socket, no clock: :meth:`EventStreamParser.feed` takes whatever bytes
arrived, in chunks of any size, and returns the events they completed. The
same input therefore gives the same events however it is chunked (a property
the tests check with hypothesis).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from rtlab.errors import EventDataError, StreamTooLong

BOM = b"\xef\xbb\xbf"


class MessageEvent(NamedTuple):
    """One dispatched event, named after the spec's ``MessageEvent``.

    ``id`` is the stream's last event id at dispatch time (the spec's
    ``lastEventId``): an event without an ``id:`` line carries the previous one.
    """

    type: str
    data: str
    id: str = ""

    def json(self) -> Any:
        """The data parsed as JSON, or :class:`EventDataError` saying which event was bad.

        (The chapter's ``jsonData`` returns null on bad JSON: the event vanishes unnoticed.)
        """
        try:
            return json.loads(self.data)
        except ValueError as exc:
            raise EventDataError(
                f"{self.type!r} event (id {self.id!r}) does not hold JSON: {exc}; "
                f"data was {self.data[:80]!r}"
            ) from None


class EventStreamParser:
    """Incremental event-stream parser (see the module docs for the rules).

    ``last_event_id`` seeds the last event id buffer. The spec starts every
    stream with an empty one; a reconnecting client passes the id it already
    has, so a new stream whose first blocks carry no ``id:`` does not erase the
    position it will resume from. ``max_size`` bounds the bytes held for one
    unfinished line plus one undispatched event (None: no bound); passing it
    raises :class:`StreamTooLong` rather than growing without limit.

    After ``feed``, :attr:`last_event_id` and :attr:`retry` (milliseconds, or
    None if the stream never set it) hold the stream-level state. The last event
    id moves only when a block is finished (a blank line): an ``id:`` line of an
    event cut off by a dropped connection is not where the stream resumes.
    """

    __slots__ = ("_buf", "_skip_lf", "_first", "_data", "_data_size", "_type", "_id_buffer",
                 "last_event_id", "retry", "max_size", "bytes_fed", "lines")

    def __init__(self, *, last_event_id: str = "", max_size: int | None = None) -> None:
        self._buf = b""  # the unfinished last line (never contains CR or LF)
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF is its partner
        self._first = True  # the first line may start with a BOM
        self._data: list[bytes] = []
        self._data_size = 0
        self._type = b""
        self._id_buffer = last_event_id  # set by ``id:`` lines
        self.last_event_id = last_event_id  # what a reconnect sends: set only at dispatch
        self.retry: int | None = None
        self.max_size = max_size
        self.bytes_fed = 0
        self.lines = 0

    def feed(self, chunk: bytes) -> list[MessageEvent]:
        """Parse the next chunk of the stream; return the events it completed, in order."""
        if not chunk:
            return []
        self.bytes_fed += len(chunk)
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        text = self._buf + chunk if self._buf else chunk
        if b"\r" in text:
            # A CR at the very end ends a line now; an LF arriving next belongs to it.
            self._skip_lf = text[-1] == 0x0D
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = text.split(b"\n")
        self._buf = lines.pop()
        if self.max_size is not None and len(self._buf) + self._data_size > self.max_size:
            raise StreamTooLong(
                f"an unfinished line of {len(self._buf)} bytes (plus {self._data_size} bytes of "
                f"undispatched data) exceeds max_size={self.max_size}"
            )
        if not lines:
            return []
        if self._first:
            self._first = False
            if lines[0].startswith(BOM):
                lines[0] = lines[0][3:]
        self.lines += len(lines)
        return self._process(lines)

    def _process(self, lines: list[bytes]) -> list[MessageEvent]:
        events: list[MessageEvent] = []
        data = self._data
        for line in lines:
            if not line:
                # Dispatch (9.2.6): update the last event id even if nothing is dispatched.
                self.last_event_id = self._id_buffer
                if data:
                    events.append(
                        MessageEvent(
                            self._type.decode("utf-8", "replace") or "message",
                            b"\n".join(data).decode("utf-8", "replace"),
                            self.last_event_id,
                        )
                    )
                    data.clear()
                    self._data_size = 0
                self._type = b""
                continue
            if line[0] == 0x3A:  # ":" -> a comment
                continue
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
                if self.max_size is not None:
                    self._data_size += len(value) + 1
                    if self._data_size > self.max_size:
                        raise StreamTooLong(
                            f"event data of {self._data_size} bytes exceeds "
                            f"max_size={self.max_size}"
                        )
            elif name == b"id":
                if b"\0" not in value:
                    self._id_buffer = value.decode("utf-8", "replace")
            elif name == b"event":
                self._type = value
            elif name == b"retry":
                if value.isdigit():  # bytes.isdigit(): ASCII digits only, never empty
                    self.retry = int(value)
            # any other field name is ignored
        return events

    def close(self) -> None:
        """The stream ended: discard an unfinished line and event (9.2.5: never dispatched)."""
        self._buf = b""
        self._skip_lf = False
        self._data.clear()
        self._data_size = 0
        self._type = b""
        self._id_buffer = self.last_event_id

    @property
    def pending(self) -> bool:
        """True while part of a line or an undispatched event is held."""
        return bool(self._buf or self._data or self._type)


def parse(stream: bytes, **options: Any) -> list[MessageEvent]:
    """All events of a complete stream (what :meth:`EventStreamParser.feed` gives for it whole)."""
    parser = EventStreamParser(**options)
    events = parser.feed(stream)
    parser.close()
    return events
